package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// answer is what Cinder last said of an object's volume, when it said it,
// and until when it stands. A nil vol is a mark that Cinder said something
// that may not be used again (the volume is busy, gone, not the object's)
// or that the operator is changing it: a listing taken before asOf must
// not stand for it (see keepListed).
type answer struct {
	vol        *cinder.Volume
	asOf       time.Time
	until      time.Time
	generation int64
}

// reusable says whether Cinder's answer about vol may stand for the
// object's next reconciles, for AnswerTTL: the volume is settled and
// usable, as large as the object asks, and the object's: nothing is left
// to ask of Cinder, only the claim and the PersistentVolume to bring in
// line (and a volume that is busy is always read again: that is polling).
func reusable(v *storagev1.OpenStackVolume, vol *cinder.Volume) bool {
	return usable[vol.Status] && !busy[vol.Status] && vol.Size >= int(v.Spec.SizeGiB) && vol.Metadata[storagev1.MetaUID] == string(v.UID)
}

// remember keeps Cinder's answer about the object's volume, read just
// now, for AnswerTTL when it can be used again.
func (r *VolumeReconciler) remember(v *storagev1.OpenStackVolume, vol *cinder.Volume) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keepLocked(v, vol, time.Now(), r.AnswerTTL)
}

// keepListed keeps what a listing begun at listedAt said of the object's
// volume, for ttl from then, and says whether it may be used again. What
// was learnt of the volume since the listing began (a read, or the
// operator's own change) wins over it.
func (r *VolumeReconciler) keepListed(v *storagev1.OpenStackVolume, vol *cinder.Volume, listedAt time.Time, ttl time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.answers[v.UID]; ok && a.asOf.After(listedAt) {
		return a.vol != nil
	}
	return r.keepLocked(v, vol, listedAt, ttl)
}

func (r *VolumeReconciler) keepLocked(v *storagev1.OpenStackVolume, vol *cinder.Volume, asOf time.Time, ttl time.Duration) bool {
	if r.answers == nil {
		r.answers = map[types.UID]answer{}
	}
	if ttl <= 0 || !reusable(v, vol) {
		r.answers[v.UID] = answer{asOf: asOf}
		return false
	}
	r.answers[v.UID] = answer{vol: slim(vol), asOf: asOf, until: asOf.Add(ttl), generation: v.Generation}
	return true
}

// slim is what an answer keeps of a volume: what a reconcile reads of a
// settled volume, without its name and metadata (reusable already checked
// that the metadata names the object). The operator keeps an answer for
// every volume it holds; Cinder's metadata map alone was some 600 bytes a
// volume.
func slim(vol *cinder.Volume) *cinder.Volume {
	return &cinder.Volume{ID: vol.ID, Status: vol.Status, Size: vol.Size, Zone: vol.Zone, Type: vol.Type,
		SnapshotID: vol.SnapshotID, Attached: vol.Attached, CreatedAt: vol.CreatedAt}
}

// recent is the answer Cinder gave about volume id that still stands
// (AnswerTTL after a read, longer after a listing: see resyncer), for this
// generation of the object, or nil: then Cinder is asked.
func (r *VolumeReconciler) recent(v *storagev1.OpenStackVolume, id string) *cinder.Volume {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.answers[v.UID]
	if !ok || a.vol == nil || a.vol.ID != id || a.generation != v.Generation || !time.Now().Before(a.until) {
		return nil
	}
	vol := *a.vol
	vol.Metadata = map[string]string{storagev1.MetaUID: string(v.UID)}
	return &vol
}

// unlearn drops what Cinder said of the object's volume: Cinder said
// it is gone or not the object's, or the operator is about to change it.
func (r *VolumeReconciler) unlearn(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers = map[types.UID]answer{}
	}
	r.answers[uid] = answer{asOf: time.Now()}
}
