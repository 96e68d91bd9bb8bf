package openstackfake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// A create whose answer is lost has still created the volume, exactly
// once, and the client has an error that is no HTTP status.
func TestLostCreateResponse(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	ctx := context.Background()
	fake.LoseResponseNext(RouteCreateVolume, 1)
	_, err := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1, Name: "pv-lost"}, nil).Extract()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.Is(err, io.EOF) || errors.As(err, &unexpected) {
		t.Fatalf("lost create: %v, want EOF", err)
	}
	if n := fake.Count(RouteCreateVolume); n != 1 {
		t.Fatalf("%d create requests, want 1 (nothing retried)", n)
	}
	pages, err := volumes.List(c, volumes.ListOpts{Name: "pv-lost"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vs, _ := volumes.ExtractVolumes(pages); len(vs) != 1 {
		t.Fatalf("after a lost create the fake holds %d volumes named pv-lost, want 1", len(vs))
	}
	log := fake.Log()
	var lost []LogEntry
	for _, e := range log {
		if e.Lost {
			lost = append(lost, e)
		}
	}
	if len(lost) != 1 || lost[0].Route != RouteCreateVolume || lost[0].Status != http.StatusAccepted {
		t.Fatalf("lost entries %+v", lost)
	}
	// The fault is used up: the next create is answered.
	if _, err := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1}, nil).Extract(); err != nil {
		t.Fatal(err)
	}
}

// The gateway variant answers 504 after doing the work.
func TestLostResponseAsGatewayTimeout(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	id := fake.AddVolume(p, VolumeSeed{})
	c := cinder(t, fake, p)
	ctx := context.Background()
	fake.LoseResponseNextWith(RouteDeleteVolume, http.StatusGatewayTimeout, 1)
	err := volumes.Delete(ctx, c, id, nil).ExtractErr()
	if !gophercloud.ResponseCodeIs(err, http.StatusGatewayTimeout) {
		t.Fatalf("delete: %v, want 504", err)
	}
	if fake.VolumeStatus(id) != "" {
		t.Fatal("the volume survived a delete whose answer was lost")
	}
	// Retrying the delete, as a caller would, finds it gone.
	if err := volumes.Delete(ctx, c, id, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("retried delete: %v, want 404", err)
	}
}
