package controllers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// restart stops the suite's operator and starts it again with wrap.
func restart(t *testing.T, wrap func(controllers.Cinder, context.CancelFunc) controllers.Cinder) {
	t.Helper()
	operator.stop()
	var err error
	if operator, err = start(wrap); err != nil {
		t.Fatal(err)
	}
}

func waitInventory(t *testing.T) {
	t.Helper()
	if err := testenv.Eventually(context.Background(), timeout, func() error {
		if !operator.r.InventoryLoaded() {
			return context.DeadlineExceeded
		}
		return nil
	}); err != nil {
		t.Fatal("the project's volumes were never listed")
	}
}

// Once the project's volumes are listed, a new volume costs Cinder its
// create and the reads while it is created, and no look-up of its own.
func TestNewVolumesNeedNoLookup(t *testing.T) {
	tenant := tenantNamespace(t, "nolookup")
	rec := &recording{}
	swapOperator(t, func(c controllers.Cinder, _ context.CancelFunc) controllers.Cinder {
		rec.Cinder = c
		return rec
	})
	waitInventory(t)
	var vols []*storagev1.OpenStackVolume
	for _, name := range []string{"a", "b", "c"} {
		vols = append(vols, volume(t, tenant, "nolookup", name, 1))
	}
	for _, v := range vols {
		if ids := volumesOf(t, waitBound(t, v)); len(ids) != 1 {
			t.Fatalf("%s: %d Cinder volumes, want 1", v.Name, len(ids))
		}
	}
	lists, creates := 0, 0
	for _, c := range rec.all() {
		switch c {
		case "look-up":
			lists++
		case "create":
			creates++
		}
	}
	if lists != 0 || creates != 3 {
		t.Fatalf("%d look-ups and %d creates for 3 new volumes; want none and 3", lists, creates)
	}
}

// failingLookups fails every look-up by UID until it is opened: only the
// inventory can then tell the operator that a volume exists.
type failingLookups struct {
	controllers.Cinder
	open    atomic.Bool
	creates atomic.Int32
}

func (f *failingLookups) List(ctx context.Context, match map[string]string) ([]*cinder.Volume, error) {
	if match[storagev1.MetaUID] != "" && !f.open.Load() {
		return nil, &cinder.Error{Reason: cinder.Unavailable, Message: "look-ups fail in this test"}
	}
	return f.Cinder.List(ctx, match)
}

func (f *failingLookups) Create(ctx context.Context, r cinder.CreateRequest) (*cinder.Volume, error) {
	f.creates.Add(1)
	return f.Cinder.Create(ctx, r)
}

// An object whose status lost the record of its volume (an etcd restore
// from before the create, an admin emptying the status) still has that
// volume in Cinder: the operator's listing knows the UID, so it looks the
// volume up and takes it again, and never makes a second one.
func TestLostRecordIsFoundAgain(t *testing.T) {
	ctx := context.Background()
	tenant := tenantNamespace(t, "restored")
	v := waitBound(t, volume(t, tenant, "restored", "v", 1))
	id := v.Status.VolumeID

	operator.stop()
	v.Status = storagev1.OpenStackVolumeStatus{}
	if err := env.Client.Status().Update(ctx, v); err != nil {
		t.Fatal(err)
	}
	wrap := &failingLookups{}
	var err error
	if operator, err = start(func(c controllers.Cinder, _ context.CancelFunc) controllers.Cinder {
		wrap.Cinder = c
		return wrap
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restart(t, nil) })
	waitInventory(t)
	// Long enough for several reconciles of the object after the listing.
	time.Sleep(2 * time.Second)
	if n := wrap.creates.Load(); n != 0 {
		t.Fatalf("%d creates for an object whose volume Cinder holds", n)
	}
	got := &storagev1.OpenStackVolume{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(v), got); err != nil {
		t.Fatal(err)
	}
	if c := condition(got, storagev1.ConditionReady); c == nil || c.Reason == "Bound" {
		t.Fatalf("Ready = %+v while every look-up failed; want it not Bound", c)
	}
	wrap.open.Store(true)
	got = waitBound(t, v)
	if ids := volumesOf(t, got); len(ids) != 1 || ids[0] != id || got.Status.VolumeID != id {
		t.Fatalf("Cinder volumes %v, status %q; want only %s", ids, got.Status.VolumeID, id)
	}
}
