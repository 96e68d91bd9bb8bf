package controllers

import (
	"context"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// finalize runs before an OpenStackVolume goes: the claim goes first
// (once no pod uses it), then the PersistentVolume, then the Cinder volume
// is released (Retain) or deleted (Delete, once detached). It reports
// done only when Cinder has answered: an object whose volume is unknown
// keeps its finalizer.
func (r *VolumeReconciler) finalize(ctx context.Context, v *storagev1.OpenStackVolume) (bool, outcome) {
	if o := r.removeClaim(ctx, v); o != nil {
		return false, *o
	}
	if o := r.removePV(ctx, v); o != nil {
		return false, *o
	}
	vol, o := r.finalVolume(ctx, v)
	if o != nil {
		return false, *o
	}
	if vol == nil {
		return true, outcome{}
	}
	if v.Spec.ReclaimPolicy == storagev1.ReclaimDelete {
		return r.deleteVolume(ctx, v, vol)
	}
	return r.release(ctx, v, vol)
}

func (r *VolumeReconciler) removeClaim(ctx context.Context, v *storagev1.OpenStackVolume) *outcome {
	pvc := &corev1.PersistentVolumeClaim{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: v.Namespace, Name: v.Claim()}, pvc)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(pvc, v)) {
		return nil
	}
	if err != nil {
		return &outcome{ready: notReady("Deleting", "reading the claim %s: %v", v.Claim(), err), failed: true}
	}
	if pvc.DeletionTimestamp.IsZero() {
		if err := r.Client.Delete(ctx, pvc, client.Preconditions{UID: &pvc.UID}); err != nil && !apierrors.IsNotFound(err) {
			return &outcome{ready: notReady("Deleting", "deleting the claim %s: %v", pvc.Name, err), failed: true}
		}
	}
	return &outcome{ready: notReady("Deleting", "waiting for the claim %s to go: pods that use it must stop first", pvc.Name), poll: true}
}

func (r *VolumeReconciler) removePV(ctx context.Context, v *storagev1.OpenStackVolume) *outcome {
	pv := &corev1.PersistentVolume{}
	err := r.Client.Get(ctx, types.NamespacedName{Name: v.PersistentVolume()}, pv)
	if apierrors.IsNotFound(err) || (err == nil && pv.Labels[storagev1.VolumeUIDLabel] != string(v.UID)) {
		return nil
	}
	if err != nil {
		return &outcome{ready: notReady("Deleting", "reading the PersistentVolume %s: %v", v.PersistentVolume(), err), failed: true}
	}
	if pv.DeletionTimestamp.IsZero() {
		if err := r.Client.Delete(ctx, pv, client.Preconditions{UID: &pv.UID}); err != nil && !apierrors.IsNotFound(err) {
			return &outcome{ready: notReady("Deleting", "deleting the PersistentVolume %s: %v", pv.Name, err), failed: true}
		}
	}
	return &outcome{ready: notReady("Deleting", "waiting for the PersistentVolume %s to go", pv.Name), poll: true}
}

// finalVolume is the object's Cinder volume, nil when Cinder says there is
// none. With no id in status it is looked up by UID, after the create
// grace: a create sent just before a crash may still be on its way.
func (r *VolumeReconciler) finalVolume(ctx context.Context, v *storagev1.OpenStackVolume) (*cinder.Volume, *outcome) {
	if id := v.Status.VolumeID; id != "" {
		vol, err := r.Cinder.Get(ctx, id)
		if cinder.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			o := cinderFailed("reading Cinder volume "+id+" before letting the object go", err)
			return nil, &o
		}
		if vol.Metadata[storagev1.MetaUID] != string(v.UID) {
			// No longer this object's (taken elsewhere): nothing to do.
			return nil, nil
		}
		return vol, nil
	}
	if req := v.Status.CreateRequested; req != nil && time.Since(req.Time) < r.CreateGrace {
		o := outcome{ready: notReady("Deleting", "a create was sent to Cinder at %s; waiting to see whether it made a volume", req.Format(time.RFC3339)), poll: true, after: r.CreateGrace - time.Since(req.Time)}
		return nil, &o
	}
	found, err := r.Cinder.List(ctx, map[string]string{storagev1.MetaUID: string(v.UID)})
	if err != nil {
		o := cinderFailed("looking for this object's volume in Cinder before letting it go", err)
		return nil, &o
	}
	if len(found) == 0 {
		return nil, nil
	}
	vol := r.found(v, found)
	v.Status.VolumeID = vol.ID
	return vol, nil
}

// release keeps the Cinder volume, marked released, so that the same
// namespace can adopt it again.
func (r *VolumeReconciler) release(ctx context.Context, v *storagev1.OpenStackVolume, vol *cinder.Volume) (bool, outcome) {
	if vol.Metadata[storagev1.MetaReleased] == "" {
		md := maps.Clone(vol.Metadata)
		md[storagev1.MetaReleased] = time.Now().UTC().Format(time.RFC3339)
		if err := r.Cinder.SetMetadata(ctx, vol.ID, md); err != nil {
			return false, cinderFailed("marking Cinder volume "+vol.ID+" released", err)
		}
	}
	r.event(v, corev1.EventTypeNormal, "Retained", "Delete",
		"Cinder volume %s (%d GiB, zone %s) is kept, marked released; adopt it again with spec.source.volumeID: %s", vol.ID, vol.Size, vol.Zone, vol.ID)
	return true, outcome{}
}

// deleteVolume deletes the Cinder volume once no server holds it.
func (r *VolumeReconciler) deleteVolume(ctx context.Context, v *storagev1.OpenStackVolume, vol *cinder.Volume) (bool, outcome) {
	if vol.Attached || vol.Status == "in-use" || busy[vol.Status] || vol.Status == "detaching" || vol.Status == "attaching" {
		return false, outcome{ready: notReady("WaitingForDetach", "Cinder volume %s is %s; it is deleted once no server holds it", vol.ID, vol.Status), poll: true, after: r.PollMax}
	}
	if vol.Status == "deleting" {
		return false, outcome{ready: notReady("Deleting", "Cinder is deleting volume %s", vol.ID), poll: true}
	}
	if err := r.Cinder.Delete(ctx, vol.ID); err != nil && !cinder.IsNotFound(err) {
		o := cinderFailed("deleting Cinder volume "+vol.ID, err)
		if cinder.ReasonOf(err) == cinder.Invalid {
			r.event(v, corev1.EventTypeWarning, "DeleteRefused", "Delete", "Cinder refused to delete volume %s: %v", vol.ID, err)
		}
		return false, o
	}
	r.event(v, corev1.EventTypeNormal, "Deleted", "Delete", "Cinder volume %s is deleted (reclaimPolicy Delete)", vol.ID)
	return true, outcome{}
}
