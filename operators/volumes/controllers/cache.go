package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/trim"
)

// AnnotationsDigest stands, in the operator's cache, for an
// OpenStackVolume's annotations: a digest of them all, so that a change of
// annotations still starts a reconcile (the controller's predicate) while
// the cache holds 64 characters however much a tenant writes there.
const AnnotationsDigest = "storage.atrium.dev/annotations-digest"

// CacheOptions are the operator's cache: what it watches, and of each
// object only what it reads, so that its memory grows with the number of
// volumes and not with what tenants or other writers put on them.
//   - claims and PersistentVolumes: the operator's own only (label
//     VolumeUIDLabel), without annotations but the claim's
//     BindingAnnotation; the operator writes them only by merge patches of
//     what it changes, which leave the rest as it is on the server.
//   - OpenStackVolumes: no labels (never read), annotations as a digest
//     (AnnotationsDigest); the operator writes them only by the status
//     subresource and by merge patches of its finalizer.
//
// managedFields are dropped from all, as internal/manager does for every
// component (a transform of an object's own replaces that default).
func CacheOptions() (cache.Options, error) {
	own, err := labels.NewRequirement(storagev1.VolumeUIDLabel, selection.Exists, nil)
	if err != nil {
		return cache.Options{}, err
	}
	mine := labels.NewSelector().Add(*own)
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.PersistentVolumeClaim{}: {Label: mine, Transform: TrimClaim},
		&corev1.PersistentVolume{}:      {Label: mine, Transform: TrimPersistentVolume},
		&storagev1.OpenStackVolume{}:    {Transform: TrimVolume},
	}}, nil
}

var stripManagedFields = cache.TransformStripManagedFields()

// TrimVolume is the cache's transform of an OpenStackVolume.
func TrimVolume(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	if v, ok := obj.(*storagev1.OpenStackVolume); ok {
		v.Labels = nil
		v.Annotations = trim.Digest(v.Annotations, AnnotationsDigest)
	}
	return obj, nil
}

// TrimClaim is the cache's transform of a claim: its annotations but
// BindingAnnotation go (a tenant may annotate its claims), and of its
// status only the phase stays, the one field the operator reads (the
// capacity, access modes and conditions the binder writes were some 1 KB
// a claim, 9 to 12 MiB at 10,000 volumes). The operator never writes a
// claim's status, and an update of a claim leaves the status as it is.
func TrimClaim(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: pvc.Status.Phase}
		if v, ok := pvc.Annotations[BindingAnnotation]; ok {
			pvc.Annotations = map[string]string{BindingAnnotation: v}
		} else {
			pvc.Annotations = nil
		}
	}
	return obj, nil
}

// TrimPersistentVolume is the cache's transform of a PersistentVolume: its
// annotations (the binder's) go, and of its status (the binder's, which
// the operator does not read) the phase alone stays.
func TrimPersistentVolume(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		pv.Annotations = nil
		pv.Status = corev1.PersistentVolumeStatus{Phase: pv.Status.Phase}
	}
	return obj, nil
}
