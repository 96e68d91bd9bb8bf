package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// inventory knows which objects may already have a volume in Cinder, so
// that a new volume's create need not wait for a look-up of its own (one
// Cinder request in three of a volume's life).
//
// Why skipping the look-up is safe: every create this operator sends is
// first recorded in the object's status (status.createRequested) by a
// write that is conditional on the object's resourceVersion, and a volume
// of an object that holds such a record is always looked up. An object
// without a record, whose record write then succeeds, was therefore sent
// no create before — unless by this very process (noted here before each
// create leaves, whether or not its answer comes back), or its record was
// lost after the create (an etcd restore, an admin emptying the status).
// The last case is what the listing covers: a complete listing of the
// project's volumes, taken after this process started leading, holds
// every volume made before it, and each volume's metadata names its
// object's UID. Until the listing has succeeded, and for every UID it or
// this process knows, the object's own look-up is made as before; a
// failed listing is never "none".
type inventory struct {
	mu       sync.Mutex
	complete bool
	// failed is set once a listing failed: until one succeeds, new
	// volumes are looked up on their own instead of waiting for it.
	failed bool
	known  map[types.UID]struct{}
}

func newInventory() *inventory { return &inventory{known: map[types.UID]struct{}{}} }

// mayExist says whether Cinder may hold a volume naming uid that the
// operator has not looked up; true for a nil inventory.
func (i *inventory) mayExist(uid types.UID) bool {
	if i == nil {
		return true
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	_, ok := i.known[uid]
	return ok || !i.complete
}

// pending says whether a new volume should wait for the listing rather
// than be looked up on its own: the first listing is on its way (one
// request, where 500 new volumes would each cost a look-up).
func (i *inventory) pending() bool {
	if i == nil {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return !i.complete && !i.failed
}

func (i *inventory) fail() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.failed = true
}

// sending notes, before the request leaves, that a create for uid is sent.
func (i *inventory) sending(uid types.UID) {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.known[uid] = struct{}{}
}

// load notes the UIDs that the volumes name and marks the inventory
// complete; vols must be every volume of the project.
func (i *inventory) load(vols []*cinder.Volume) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, v := range vols {
		if uid := v.Metadata[storagev1.MetaUID]; uid != "" {
			i.known[types.UID(uid)] = struct{}{}
		}
	}
	i.complete = true
}

// inventoryLoader lists the project's volumes once, when the process
// starts leading, retrying with backoff until Cinder answers.
type inventoryLoader struct {
	inv    *inventory
	cinder Cinder
	// answer, when set, is given the listing and when it began before the
	// inventory is complete: a cold start checks every volume it already
	// holds from it (VolumeReconciler.answerFromCold).
	answer func(ctx context.Context, vols []*cinder.Volume, listedAt time.Time)
	// min and max bound the wait between failed listings.
	min, max time.Duration
}

// NeedLeaderElection: only the leader creates volumes, and the listing
// must come after the previous leader stopped.
func (l *inventoryLoader) NeedLeaderElection() bool { return true }

func (l *inventoryLoader) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("inventory")
	wait := l.min
	// Its own turn of the pacing, so that the new volumes' calls never
	// push it back.
	ctx = cinder.For(ctx, "atrium:inventory")
	for {
		// Every volume, not only this cluster's: a volume made under an
		// earlier --cluster-name still names its object's UID.
		listedAt := time.Now()
		vols, err := l.cinder.List(ctx, nil)
		if err == nil {
			if l.answer != nil {
				l.answer(ctx, vols, listedAt)
			}
			l.inv.load(vols)
			log.Info("listed the project's Cinder volumes; new volumes are created without a look-up of their own", "volumes", len(vols))
			return nil
		}
		next := wait
		if cinder.Gated(err) {
			// Kept back by the pacing or a 429: no failure, no backoff.
			next, _ = cinder.Transient(err)
		} else {
			l.inv.fail()
			log.Error(err, "listing the project's Cinder volumes (each new volume is looked up on its own until this succeeds)", "retryIn", wait)
			wait = min(2*wait, l.max)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(next):
		}
	}
}

// answerFromCold makes the inventory's listing, taken when this process
// starts leading, stand as Cinder's answer for every volume it already
// holds (answerFromListing), so that a cold start reads none of them on
// its own. Why: at the shipped pace (--cinder-qps 10) 10,000 reads took
// 17 minutes after every restart, and a new volume's calls waited behind
// them. While the listing is on its way those volumes wait for it, as new
// ones do (volume); one it does not answer for is read on its own.
func (r *VolumeReconciler) answerFromCold(objects client.Reader) func(context.Context, []*cinder.Volume, time.Time) {
	return func(ctx context.Context, vols []*cinder.Volume, listedAt time.Time) {
		var objs storagev1.OpenStackVolumeList
		// Read only, never changed: no copy of 10,000 cached objects.
		if err := objects.List(ctx, &objs, client.UnsafeDisableDeepCopy); err != nil {
			ctrl.Log.WithName("inventory").Error(err, "listing the OpenStackVolumes; each is read from Cinder on its own")
			return
		}
		n := r.answerFromListing(objs.Items, vols, listedAt)
		ctrl.Log.WithName("inventory").V(1).Info("volumes answered by the listing", "objects", len(objs.Items), "answered", n)
	}
}
