package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// persistentVolume makes sure the volume's PersistentVolume exists for
// the Cinder volume, pre-bound to the claim (by UID, so that no other
// claim of that name can take it), in the volume's zone, and as large as
// Cinder says the volume is. Its reclaim policy is always Retain: what
// happens to the Cinder volume is the operator's decision, taken on the
// OpenStackVolume's delete, never the CSI driver's on a claim's.
//
// A PersistentVolume just made is left for the next reconcile (its watch
// event brings it) before the claim is nudged to bind: see nudge.
func (r *VolumeReconciler) persistentVolume(ctx context.Context, v *storagev1.OpenStackVolume, vol *cinder.Volume, pvc *corev1.PersistentVolumeClaim) *outcome {
	pv := &corev1.PersistentVolume{}
	err := r.Client.Get(ctx, types.NamespacedName{Name: v.PersistentVolume()}, pv)
	if apierrors.IsNotFound(err) {
		pv = r.desiredPV(v, vol, pvc)
		if err = r.Client.Create(ctx, pv); err == nil {
			v.Status.PersistentVolumeName = pv.Name
			return &outcome{ready: notReady("Binding", "waiting for the claim %s to bind to the PersistentVolume %s", pvc.Name, pv.Name), poll: true}
		}
	}
	if err != nil {
		o := outcome{ready: notReady("PersistentVolumeFailed", "the PersistentVolume %s: %v", v.PersistentVolume(), err), failed: true}
		return &o
	}
	if pv.Labels[storagev1.VolumeUIDLabel] != string(v.UID) || pv.Spec.CSI == nil || pv.Spec.CSI.VolumeHandle != vol.ID {
		o := outcome{ready: notReady("PersistentVolumeConflict", "the PersistentVolume %s does not stand for Cinder volume %s; an admin must remove it", pv.Name, vol.ID), failed: true}
		return &o
	}
	v.Status.PersistentVolumeName = pv.Name
	want := gib(vol.Size)
	if cur := pv.Spec.Capacity[corev1.ResourceStorage]; cur.Cmp(want) != 0 {
		patch := client.MergeFrom(pv.DeepCopy())
		pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: want}
		if err := r.Client.Patch(ctx, pv, patch); err != nil {
			o := outcome{ready: notReady("PersistentVolumeFailed", "resizing the PersistentVolume %s to %d GiB: %v", pv.Name, vol.Size, err), failed: true}
			return &o
		}
	}
	return nil
}

func (r *VolumeReconciler) desiredPV(v *storagev1.OpenStackVolume, vol *cinder.Volume, pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: v.PersistentVolume(), Labels: labelsOf(v)},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: gib(vol.Size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{accessMode(v)},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              storagev1.StorageClassName,
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: storagev1.CSIDriver, VolumeHandle: vol.ID, FSType: r.FSType,
			}},
		},
	}
	if vol.Zone != "" && r.TopologyKey != "" {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: r.TopologyKey, Operator: corev1.NodeSelectorOpIn, Values: []string{vol.Zone}}},
		}}}}
	}
	return pv
}
