package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// resyncer checks every volume against Cinder once a Resync, from one
// listing of this cluster's volumes rather than one read a volume.
//
// Why: at the shipped pace (--cinder-qps 10) a read a volume every ten
// minutes stops keeping up past 6,000 volumes, and a resync that never
// ends keeps every user's own calls waiting behind it. A listing is one
// request a thousand volumes (Cinder's page). What it says of a volume is
// what a read at the same moment would: each listed volume that is settled,
// at its object's size and still names its object (reusable) stands as
// Cinder's answer for that object's next reconcile, for listedTTL. Every
// OpenStackVolume is then reconciled. One that was not listed, or not as
// reusable (deleted or taken outside Atrium, in error, busy), is read on
// its own as before, so nothing is concluded from a volume's absence from
// a listing. A listing that fails leaves every volume to be read on its
// own: the old resync, slower, never wrong.
type resyncer struct {
	r       *VolumeReconciler
	objects client.Reader
	queue   chan<- event.GenericEvent
}

// listedTTL is how long a listing's answer about a volume stands: long
// enough for the reconciles the sweep queues to reach it behind the
// others, much shorter than the resync, so that every sweep reads Cinder
// afresh.
func (r *VolumeReconciler) listedTTL() time.Duration { return max(r.AnswerTTL, r.Resync/4) }

// answerFromListing keeps, for each object of objs whose volume a listing
// begun at listedAt holds, what the listing said of it (keepListed), and
// returns how many may stand as Cinder's answer.
func (r *VolumeReconciler) answerFromListing(objs []storagev1.OpenStackVolume, vols []*cinder.Volume, listedAt time.Time) int {
	byUID := make(map[types.UID]*storagev1.OpenStackVolume, len(objs))
	for i := range objs {
		byUID[objs[i].UID] = &objs[i]
	}
	listed := 0
	for _, vol := range vols {
		v := byUID[types.UID(vol.Metadata[storagev1.MetaUID])]
		if v != nil && v.Status.VolumeID == vol.ID && r.keepListed(v, vol, listedAt, r.listedTTL()) {
			listed++
		}
	}
	return listed
}

// NeedLeaderElection: only the leader reconciles.
func (s *resyncer) NeedLeaderElection() bool { return true }

// Start sweeps once a Resync (with jitter) until ctx ends. The first
// sweep waits a Resync: when a replica starts leading, its caches' first
// events reconcile every volume already.
func (s *resyncer) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(jitter(s.r.Resync)):
		}
		s.sweep(ctx)
	}
}

// sweep lists this cluster's Cinder volumes, keeps what the listing says
// of each object's volume, and queues every object.
func (s *resyncer) sweep(ctx context.Context) {
	log := ctrl.Log.WithName("resync")
	var objs storagev1.OpenStackVolumeList
	// Read only, never changed: no copy of 10,000 cached objects.
	if err := s.objects.List(ctx, &objs, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "listing the OpenStackVolumes to check against Cinder")
		return
	}
	listed := 0
	// Its own turn of the pacing, as the inventory's.
	vols, listedAt, err := s.list(cinder.For(ctx, "atrium:resync"))
	if err != nil {
		log.Error(err, "listing this cluster's Cinder volumes; each volume is read on its own this time")
	} else {
		listed = s.r.answerFromListing(objs.Items, vols, listedAt)
	}
	log.V(1).Info("checking every volume against Cinder", "objects", len(objs.Items), "answeredByTheListing", listed)
	for i := range objs.Items {
		select {
		case <-ctx.Done():
			return
		case s.queue <- event.GenericEvent{Object: &objs.Items[i]}:
		}
	}
}

// list is one listing of this cluster's volumes and when it began,
// waiting for its turn of the pacing (a Gated error is no failure) for at
// most a Resync.
func (s *resyncer) list(ctx context.Context) ([]*cinder.Volume, time.Time, error) {
	deadline := time.Now().Add(s.r.Resync)
	for {
		at := time.Now()
		vols, err := s.r.Cinder.List(ctx, map[string]string{storagev1.MetaCluster: s.r.Cluster})
		if err == nil || !cinder.Gated(err) {
			return vols, at, err
		}
		after, _ := cinder.Transient(err)
		after = max(after, 10*time.Millisecond)
		if time.Now().Add(after).After(deadline) {
			return nil, at, err
		}
		select {
		case <-ctx.Done():
			return nil, at, ctx.Err()
		case <-time.After(after):
		}
	}
}
