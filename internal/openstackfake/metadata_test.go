package openstackfake

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// Volume metadata as Cinder answers it: volumes.Update with Metadata
// replaces all of it; POST /volumes/{id}/metadata merges; PUT replaces
// (and is the only way to clear it); GET reads. gophercloud v2 has no
// call for the last three, so they go through the ServiceClient.
func TestVolumeMetadata(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	id := fake.AddVolume(p, VolumeSeed{Metadata: map[string]string{"a": "1", "b": "2"}})
	c := cinder(t, fake, p)
	ctx := context.Background()
	url := c.ServiceURL("volumes", id, "metadata")
	type body struct {
		Metadata map[string]string `json:"metadata"`
	}
	want := func(step string, m map[string]string) {
		t.Helper()
		var got body
		if _, err := c.Get(ctx, url, &got, nil); err != nil {
			t.Fatal(err)
		}
		v, _ := volumes.Get(ctx, c, id).Extract()
		if !maps.Equal(got.Metadata, m) || !maps.Equal(v.Metadata, m) {
			t.Fatalf("%s: metadata %v, volume shows %v, want %v", step, got.Metadata, v.Metadata, m)
		}
	}
	if _, err := volumes.Update(ctx, c, id, volumes.UpdateOpts{Metadata: map[string]string{"c": "3"}}).Extract(); err != nil {
		t.Fatal(err)
	}
	want("volumes.Update", map[string]string{"c": "3"})

	var merged body
	ok200 := &gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}}
	if _, err := c.Post(ctx, url, body{map[string]string{"d": "4", "c": "three"}}, &merged, ok200); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(merged.Metadata, map[string]string{"c": "three", "d": "4"}) {
		t.Fatalf("POST answered %v, want the whole merged metadata", merged.Metadata)
	}
	want("POST merges", map[string]string{"c": "three", "d": "4"})

	if _, err := c.Put(ctx, url, body{map[string]string{"e": "5"}}, nil, ok200); err != nil {
		t.Fatal(err)
	}
	want("PUT replaces", map[string]string{"e": "5"})
	if _, err := c.Put(ctx, url, body{map[string]string{}}, nil, ok200); err != nil {
		t.Fatal(err)
	}
	want("PUT {} clears", map[string]string{})

	// Cinder's schema refuses odd keys and long values.
	for _, bad := range []map[string]string{{"a=b": "x"}, {"": "x"}, {"k": strings.Repeat("v", 256)}, {strings.Repeat("k", 256): "v"}} {
		if _, err := c.Post(ctx, url, body{bad}, nil, ok200); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Fatalf("metadata %.20v: %v, want 400", bad, err)
		}
		if _, err := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1, Metadata: bad}, nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Fatalf("create with metadata %.20v: %v, want 400", bad, err)
		}
	}
	if _, err := c.Post(ctx, url, body{map[string]string{"atrium.dev/claim": "ns/name", "a-b_c:d e": strings.Repeat("v", 255)}}, nil, ok200); err != nil {
		t.Fatalf("allowed metadata refused: %v", err)
	}
}

// A volume in use by a server cannot be deleted until Nova detaches it.
func TestDetachThenDelete(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	id := fake.AddVolume(p, VolumeSeed{})
	c := cinder(t, fake, p)
	ctx := context.Background()
	fake.Attach(id, "server-1")
	v, _ := volumes.Get(ctx, c, id).Extract()
	if v.Status != "in-use" || len(v.Attachments) != 1 || v.Attachments[0].ServerID != "server-1" {
		t.Fatalf("attached %+v", v)
	}
	if err := volumes.Delete(ctx, c, id, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("delete in-use: %v, want 400", err)
	}
	fake.Detach(id)
	v, _ = volumes.Get(ctx, c, id).Extract()
	if v.Status != "available" || len(v.Attachments) != 0 {
		t.Fatalf("detached %+v", v)
	}
	if err := volumes.Delete(ctx, c, id, nil).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
