package openstackfake

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
)

// cinder authenticates with a fresh application credential and returns a
// block storage client, as the operator builds one.
func cinder(t *testing.T, fake *Server, projectID string) *gophercloud.ServiceClient {
	t.Helper()
	id, secret := fake.AddApplicationCredential(projectID, "operator")
	ctx := context.Background()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: fake.IdentityURL, ApplicationCredentialID: id, ApplicationCredentialSecret: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewBlockStorageV3(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthApplicationCredentialAndPassword(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	if want := fake.VolumeEndpoint(p) + "/"; c.Endpoint != want {
		t.Fatalf("endpoint %q, want %q", c.Endpoint, want)
	}
	fake.AddUser(p, "alice", "s3cret")
	ctx := context.Background()
	if _, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: fake.IdentityURL, Username: "alice", Password: "s3cret", DomainName: "Default", TenantID: p,
	}); err != nil {
		t.Fatalf("password: %v", err)
	}
	id, _ := fake.AddApplicationCredential(p, "operator")
	_, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: fake.IdentityURL, ApplicationCredentialID: id, ApplicationCredentialSecret: "wrong",
	})
	if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Fatalf("wrong secret: %v, want 401", err)
	}
	if n := fake.Count(RouteTokens); n != 3 {
		t.Fatalf("%d token requests, want 3", n)
	}
}

func TestMicroversionNegotiation(t *testing.T) {
	fake := Start(WithMaxMicroversion("3.64"))
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	mv, err := utils.GetSupportedMicroversions(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if mv.MinMajor != 3 || mv.MinMinor != 0 || mv.MaxMajor != 3 || mv.MaxMinor != 64 {
		t.Fatalf("microversions %+v", mv)
	}
	c.Microversion = "3.70"
	_, err = volumes.Get(context.Background(), c, "x").Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusNotAcceptable) {
		t.Fatalf("3.70: %v, want 406", err)
	}
	c.Microversion = "3.42"
	r := volumes.Get(context.Background(), c, "x")
	if got := r.Header.Get("OpenStack-API-Version"); got != "volume 3.42" {
		t.Fatalf("echoed %q", got)
	}
}

func TestVolumeLifecycle(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	ctx := context.Background()
	v, err := volumes.Create(ctx, c, volumes.CreateOpts{Size: 2, Name: "pv-1", Metadata: map[string]string{"atrium/claim": "ns/data"}}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "creating" || v.AvailabilityZone != "nova" || v.Metadata["atrium/claim"] != "ns/data" {
		t.Fatalf("created %+v", v)
	}
	for _, want := range []string{"creating", "available"} {
		got, err := volumes.Get(ctx, c, v.ID).Extract()
		if err != nil || got.Status != want {
			t.Fatalf("status %v %v, want %s", got, err, want)
		}
	}
	fake.AddVolume(p, VolumeSeed{Name: "other", Metadata: map[string]string{"atrium/claim": "ns/other"}})
	pages, err := volumes.List(c, volumes.ListOpts{Metadata: map[string]string{"atrium/claim": "ns/data"}}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found, _ := volumes.ExtractVolumes(pages)
	if len(found) != 1 || found[0].ID != v.ID {
		t.Fatalf("metadata filter found %+v", found)
	}
	if err := volumes.ExtendSize(ctx, c, v.ID, volumes.ExtendSizeOpts{NewSize: 5}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if s := fake.VolumeStatus(v.ID); s != "extending" {
		t.Fatalf("after extend %s", s)
	}
	fake.Step()
	got, _ := volumes.Get(ctx, c, v.ID).Extract()
	if got.Status != "available" || got.Size != 5 {
		t.Fatalf("extended %s %d", got.Status, got.Size)
	}
	if err := volumes.Delete(ctx, c, v.ID, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := volumes.Get(ctx, c, v.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("after delete %v", err)
	}
}

func TestExtendInUseNeeds342AndDeleteRefused(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	id := fake.AddVolume(p, VolumeSeed{Size: 1, AttachedTo: "server-1"})
	c := cinder(t, fake, p)
	ctx := context.Background()
	c.Microversion = "3.41"
	err := volumes.ExtendSize(ctx, c, id, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("in-use at 3.41: %v, want 400", err)
	}
	c.Microversion = "3.42"
	if err := volumes.ExtendSize(ctx, c, id, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	fake.Step()
	if s := fake.VolumeStatus(id); s != "in-use" {
		t.Fatalf("after in-use extend %s", s)
	}
	if err := volumes.Delete(ctx, c, id, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("delete in-use: %v", err)
	}
}

func TestQuota413(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	fake.SetQuota(p, 10, 5)
	fake.AddVolume(p, VolumeSeed{Size: 8})
	c := cinder(t, fake, p)
	_, err := volumes.Create(context.Background(), c, volumes.CreateOpts{Size: 3}, nil).Extract()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusRequestEntityTooLarge {
		t.Fatalf("over quota: %v", err)
	}
	if unexpected.ResponseHeader.Get("Retry-After") != "0" {
		t.Fatalf("Retry-After %q", unexpected.ResponseHeader.Get("Retry-After"))
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	fake.RateLimitNext(RouteGetVolume, 7, 1)
	_, err := volumes.Get(context.Background(), c, "x").Extract()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusTooManyRequests || unexpected.ResponseHeader.Get("Retry-After") != "7" {
		t.Fatalf("rate limited: %v", err)
	}
	fake.FailNext(RouteGetVolume, http.StatusServiceUnavailable, 1)
	if _, err := volumes.Get(context.Background(), c, "x").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusServiceUnavailable) {
		t.Fatalf("503: %v", err)
	}
}

func TestOtherProjectInvisibleAndSnapshotZone(t *testing.T) {
	fake := Start()
	defer fake.Close()
	fake.AddAvailabilityZone("az-2")
	mine, theirs := fake.AddProject("mine"), fake.AddProject("theirs")
	vol := fake.AddVolume(mine, VolumeSeed{Zone: "az-2"})
	snap := fake.AddSnapshot(vol, "snap")
	hidden := fake.AddVolume(theirs, VolumeSeed{Metadata: map[string]string{"k": "v"}})
	c := cinder(t, fake, mine)
	ctx := context.Background()
	if _, err := volumes.Get(ctx, c, hidden).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("other project's volume: %v", err)
	}
	pages, _ := volumes.List(c, volumes.ListOpts{Metadata: map[string]string{"k": "v"}}).AllPages(ctx)
	if vs, _ := volumes.ExtractVolumes(pages); len(vs) != 0 {
		t.Fatalf("listed %+v", vs)
	}
	sn, err := snapshots.Get(ctx, c, snap).Extract()
	if err != nil {
		t.Fatal(err)
	}
	v, err := volumes.Get(ctx, c, sn.VolumeID).Extract()
	if err != nil || v.AvailabilityZone != "az-2" {
		t.Fatalf("snapshot's volume %+v %v", v, err)
	}
	for _, e := range fake.Log() {
		if e.Path == "" || e.Status == 0 {
			t.Fatalf("log entry %+v", e)
		}
	}
}
