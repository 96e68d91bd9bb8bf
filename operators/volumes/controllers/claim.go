package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
)

func gib(n int) resource.Quantity { return *resource.NewQuantity(int64(n)<<30, resource.BinarySI) }

// sizeOf is a quantity in whole GiB, rounded up.
func sizeOf(q resource.Quantity) int { return int((q.Value() + 1<<30 - 1) >> 30) }

func labelsOf(v *storagev1.OpenStackVolume) map[string]string {
	return map[string]string{
		storagev1.VolumeLabel:          v.Name,
		storagev1.VolumeNamespaceLabel: v.Namespace,
		storagev1.VolumeUIDLabel:       string(v.UID),
	}
}

// claim makes sure the volume's claim exists, is the volume's, and
// requests at least size GiB. It is called before anything is asked of
// Cinder: the tier's storage quota is the API server's ResourceQuota on
// claims of the operator's StorageClass, so a claim it refuses stops the
// create (or the extend) there, whatever else is created at the same time.
func (r *VolumeReconciler) claim(ctx context.Context, v *storagev1.OpenStackVolume, size int) (*corev1.PersistentVolumeClaim, *outcome) {
	pvc := &corev1.PersistentVolumeClaim{}
	key := types.NamespacedName{Namespace: v.Namespace, Name: v.Claim()}
	err := r.Client.Get(ctx, key, pvc)
	if apierrors.IsNotFound(err) {
		pvc = r.desiredClaim(v, size)
		if err = r.Client.Create(ctx, pvc); err == nil {
			return pvc, nil
		}
		if apierrors.IsAlreadyExists(err) {
			// Not in the cache: not labelled as the operator's, or made
			// a moment ago and not seen yet (its creation starts no
			// reconcile: see claimEvents). The API server tells.
			pvc = &corev1.PersistentVolumeClaim{}
			err = r.Reader.Get(ctx, key, pvc)
			if err == nil && !metav1.IsControlledBy(pvc, v) {
				o := outcome{ready: notReady("ClaimConflict", "a PersistentVolumeClaim %q that is not this volume's exists; delete it or set spec.claimName to another name", key.Name), failed: true}
				return nil, &o
			}
		}
	}
	if err != nil {
		return nil, quotaOr(err, "creating the claim %s", key.Name)
	}
	if !metav1.IsControlledBy(pvc, v) {
		o := outcome{ready: notReady("ClaimConflict", "the PersistentVolumeClaim %q is not this volume's; delete it or set spec.claimName to another name", key.Name), failed: true}
		return nil, &o
	}
	if !pvc.DeletionTimestamp.IsZero() {
		o := outcome{ready: notReady("ClaimDeleting", "the claim %q is being deleted; it is made again once it is gone", key.Name), poll: true}
		return nil, &o
	}
	if cur := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; sizeOf(cur) < size {
		// Growing the request is what the quota charges: it is done
		// before Cinder is asked to extend.
		patch := client.MergeFrom(pvc.DeepCopy())
		pvc.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: gib(size)}
		if err := r.Client.Patch(ctx, pvc, patch); err != nil {
			return nil, quotaOr(err, "growing the claim %s to %d GiB", key.Name, size)
		}
	}
	return pvc, nil
}

// quotaOr is the outcome of a failed claim write: the tier's quota, or a
// failure to retry.
func quotaOr(err error, format string, args ...any) *outcome {
	what := fmt.Sprintf(format, args...)
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota") {
		q := cond(metav1.ConditionTrue, "TierQuota", "%s: %s", what, apiMessage(err))
		o := outcome{ready: notReady("QuotaExceeded", "%s: the Project's storage quota is used up; delete a volume or ask for a larger tier", what), quota: &q, failed: true}
		return &o
	}
	o := outcome{ready: notReady("ClaimFailed", "%s: %v", what, err), failed: true}
	return &o
}

func apiMessage(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Message
	}
	return err.Error()
}

func (r *VolumeReconciler) desiredClaim(v *storagev1.OpenStackVolume, size int) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: v.Claim(), Namespace: v.Namespace, Labels: labelsOf(v)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{accessMode(v)},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: gib(size)}},
			StorageClassName: ptr.To(storagev1.StorageClassName),
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
			// Pre-bound: the claim waits for the volume's own
			// PersistentVolume and binds to no other.
			VolumeName: v.PersistentVolume(),
		},
	}
	_ = controllerutil.SetControllerReference(v, pvc, r.Client.Scheme())
	return pvc
}

func accessMode(v *storagev1.OpenStackVolume) corev1.PersistentVolumeAccessMode {
	if v.Spec.AccessMode != "" {
		return v.Spec.AccessMode
	}
	return corev1.ReadWriteOnce
}

// BindingAnnotation on a claim names the PersistentVolume the operator
// made for it.
const BindingAnnotation = "storage.atrium.dev/persistent-volume"

// nudge marks the claim with its PersistentVolume once the operator's
// cache has seen that (and so, most likely, the binder's has too). The
// cluster's binder binds a claim when the claim changes; a PersistentVolume
// that appears after its claim (the operator makes the claim first, for
// the quota) would otherwise wait for the binder's periodic sync, 15s by
// default, which stays the fallback.
func (r *VolumeReconciler) nudge(ctx context.Context, pvc *corev1.PersistentVolumeClaim) *outcome {
	if a := pvc.Annotations[BindingAnnotation]; a == pvc.Spec.VolumeName || a == BindingAsWanted {
		return nil
	}
	patch := client.MergeFrom(pvc.DeepCopy())
	if pvc.Annotations == nil {
		pvc.Annotations = map[string]string{}
	}
	pvc.Annotations[BindingAnnotation] = pvc.Spec.VolumeName
	if err := r.Client.Patch(ctx, pvc, patch); err != nil {
		o := outcome{ready: notReady("Binding", "marking the claim %s for its PersistentVolume: %v", pvc.Name, err), failed: true}
		return &o
	}
	return nil
}
