package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// answer is what Cinder last said of an object's volume, and when.
type answer struct {
	vol        *cinder.Volume
	at         time.Time
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

// remember keeps Cinder's answer about the object's volume when it can be
// used again.
func (r *VolumeReconciler) remember(v *storagev1.OpenStackVolume, vol *cinder.Volume) {
	if r.AnswerTTL <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers = map[types.UID]answer{}
	}
	if !reusable(v, vol) {
		delete(r.answers, v.UID)
		return
	}
	r.answers[v.UID] = answer{vol: vol, at: time.Now(), generation: v.Generation}
}

// recent is the answer Cinder gave about volume id less than AnswerTTL
// ago, for this generation of the object, or nil: then Cinder is asked.
func (r *VolumeReconciler) recent(v *storagev1.OpenStackVolume, id string) *cinder.Volume {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.answers[v.UID]
	if !ok || a.vol.ID != id || a.generation != v.Generation || time.Since(a.at) >= r.AnswerTTL {
		return nil
	}
	vol := *a.vol
	return &vol
}

// unlearn drops what Cinder said of the object's volume: the operator
// is about to change it.
func (r *VolumeReconciler) unlearn(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.answers, uid)
}
