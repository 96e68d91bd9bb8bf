package openstackfake

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

func TestUnknownTokenIs401(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	id := fake.AddVolume(p, VolumeSeed{})
	c := cinder(t, fake, p)
	c.ProviderClient.SetToken("not-a-token")
	if _, err := volumes.Get(context.Background(), c, id).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Fatalf("unknown token: %v, want 401", err)
	}
}

func TestFailedExtendLandsInErrorExtending(t *testing.T) {
	fake := Start(WithSettleReads(-1))
	defer fake.Close()
	p := fake.AddProject("demo")
	id := fake.AddVolume(p, VolumeSeed{Size: 1})
	c := cinder(t, fake, p)
	ctx := context.Background()
	if err := volumes.ExtendSize(ctx, c, id, volumes.ExtendSizeOpts{NewSize: 3}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	fake.FailTransition(id)
	if v, _ := volumes.Get(ctx, c, id).Extract(); v.Status != "extending" {
		t.Fatalf("manual settling: %s", v.Status)
	}
	fake.Step()
	v, _ := volumes.Get(ctx, c, id).Extract()
	if v.Status != "error_extending" || v.Size != 1 {
		t.Fatalf("after failed extend %s %d", v.Status, v.Size)
	}
	for _, e := range fake.Log() {
		if e.Route == RouteGetVolume && e.Status != http.StatusOK {
			t.Fatalf("log %+v", e)
		}
	}
}
