package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// The resync checks every volume against one listing of this cluster's
// Cinder volumes: between two resyncs a settled volume costs Cinder no
// read of its own (at 10,000 volumes, 11 requests instead of 10,000), and
// a volume deleted outside Atrium is still found missing at the next one.
func TestResyncReadsOneListing(t *testing.T) {
	vs, ids, rec := boundThenRestarted(t, "resync")

	// Three listings: the reads of these volumes between the second and
	// the third are the second resync's (the first follows the restart's
	// own reads).
	calls := rec.waitListings(t, 3)
	from := slices.Index(calls, "list")
	from += 1 + slices.Index(calls[from+1:], "list")
	to := from + 1 + slices.Index(calls[from+1:], "list")
	for _, c := range calls[from:to] {
		if ids[c] {
			t.Fatalf("a settled volume was read on its own between two resyncs: %v", calls[from:to])
		}
	}

	// Deleted in OpenStack, not through Atrium: the next resync says so.
	cfg, err := cinder.LoadCloud(cloudsFile, "fake")
	if err != nil {
		t.Fatal(err)
	}
	if err := cinder.New(cfg).Delete(context.Background(), vs[0].Status.VolumeID); err != nil {
		t.Fatal(err)
	}
	waitReason(t, vs[0], storagev1.ConditionReady, "VolumeMissing")
	for _, v := range vs[1:] {
		waitBound(t, v)
	}
}

// A cold start checks the volumes it holds from the listing it takes
// when it starts leading: a restarted operator reads no settled volume on
// its own (at 10,000 volumes and the shipped pace, 17 minutes of reads
// that a new volume's calls waited behind), and the volumes stay Bound.
func TestAColdStartReadsNoSettledVolume(t *testing.T) {
	vs, ids, rec := boundThenRestarted(t, "cold")
	// The first resync comes a Resync after the start, once the cold
	// start's own reconciles are done.
	calls := rec.waitListings(t, 1)
	if !slices.Contains(calls, "inventory") {
		t.Fatalf("no inventory listing at the start: %v", calls)
	}
	for _, c := range calls[:slices.Index(calls, "list")] {
		if ids[c] {
			t.Fatalf("the cold start read a settled volume on its own: %v", calls)
		}
	}
	for _, v := range vs {
		waitBound(t, v)
	}
}

// boundThenRestarted makes three volumes in a tenant namespace of that
// name, waits for them to be Bound, and restarts the operator with its
// Cinder calls recorded; ids are the volumes' Cinder ids.
func boundThenRestarted(t *testing.T, name string) ([]*storagev1.OpenStackVolume, map[string]bool, *recording) {
	t.Helper()
	tenant := tenantNamespace(t, name)
	var vs []*storagev1.OpenStackVolume
	for i := range 3 {
		vs = append(vs, volume(t, tenant, name, fmt.Sprintf("v%d", i), 1))
	}
	ids := map[string]bool{}
	for i, v := range vs {
		vs[i] = waitBound(t, v)
		ids[vs[i].Status.VolumeID] = true
	}
	rec := &recording{}
	swapOperator(t, func(c controllers.Cinder, _ context.CancelFunc) controllers.Cinder {
		rec.Cinder = c
		return rec
	})
	return vs, ids, rec
}

// recording notes Cinder calls: "inventory" for a listing of every
// volume (the inventory's), "list" for a listing of this cluster's
// volumes (the resync's), "look-up" for one of an object's volume,
// "create" for a create, the volume id for a read of one.
type recording struct {
	controllers.Cinder
	mu    sync.Mutex
	calls []string
}

func (r *recording) note(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recording) Get(ctx context.Context, id string) (*cinderVolume, error) {
	r.note(id)
	return r.Cinder.Get(ctx, id)
}

func (r *recording) List(ctx context.Context, match map[string]string) ([]*cinderVolume, error) {
	switch {
	case len(match) == 0:
		r.note("inventory")
	case match[storagev1.MetaCluster] != "":
		r.note("list")
	case match[storagev1.MetaUID] != "":
		r.note("look-up")
	}
	return r.Cinder.List(ctx, match)
}

func (r *recording) Create(ctx context.Context, req cinderCreate) (*cinderVolume, error) {
	r.note("create")
	return r.Cinder.Create(ctx, req)
}

func (r *recording) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// waitListings waits for n listings and returns the calls so far.
func (r *recording) waitListings(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(4 * timeout)
	for time.Now().Before(deadline) {
		calls := r.all()
		listings := 0
		for _, c := range calls {
			if c == "list" {
				listings++
			}
		}
		if listings >= n {
			return calls
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fewer than %d listings of Cinder's volumes in %s", n, 4*timeout)
	return nil
}
