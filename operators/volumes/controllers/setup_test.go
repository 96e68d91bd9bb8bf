package controllers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
)

func TestClaimEvents(t *testing.T) {
	base := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns", Labels: map[string]string{storagev1.VolumeUIDLabel: "u1"}},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "atrium-u1",
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	now := metav1.NewTime(time.Now())
	for _, c := range []struct {
		name   string
		change func(*corev1.PersistentVolumeClaim)
		want   bool
	}{
		{"bound", func(p *corev1.PersistentVolumeClaim) { p.Status.Phase = corev1.ClaimBound }, true},
		{"grown", func(p *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}
		}, true},
		{"deleted", func(p *corev1.PersistentVolumeClaim) { p.DeletionTimestamp = &now }, true},
		{"label taken off", func(p *corev1.PersistentVolumeClaim) { p.Labels = nil }, true},
		{"owner changed", func(p *corev1.PersistentVolumeClaim) { p.OwnerReferences = []metav1.OwnerReference{{Name: "x"}} }, true},
		{"annotated (the nudge, the binder's bind-completed)", func(p *corev1.PersistentVolumeClaim) {
			p.Annotations = map[string]string{"pv.kubernetes.io/bind-completed": "yes"}
		}, false},
		{"protection finalizer", func(p *corev1.PersistentVolumeClaim) { p.Finalizers = []string{"kubernetes.io/pvc-protection"} }, false},
		{"capacity in status", func(p *corev1.PersistentVolumeClaim) {
			p.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cur := base.DeepCopy()
			c.change(cur)
			if got := claimEvents.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: cur}); got != c.want {
				t.Fatalf("reconcile = %v, want %v", got, c.want)
			}
		})
	}
	if claimEvents.Create(event.CreateEvent{Object: base}) {
		t.Fatal("the operator's own claim creation starts a reconcile")
	}
	if !claimEvents.Delete(event.DeleteEvent{Object: base}) {
		t.Fatal("a claim's deletion starts no reconcile")
	}
}

func TestPVEvents(t *testing.T) {
	base := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "atrium-u1", Labels: map[string]string{storagev1.VolumeUIDLabel: "u1"}},
		Spec:       corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		Status:     corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
	}
	for _, c := range []struct {
		name   string
		change func(*corev1.PersistentVolume)
		want   bool
	}{
		{"resized", func(p *corev1.PersistentVolume) {
			p.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}
		}, true},
		{"claim changed", func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = &corev1.ObjectReference{Name: "other"} }, true},
		{"relabelled", func(p *corev1.PersistentVolume) { p.Labels = map[string]string{} }, true},
		{"bound (the binder's phase)", func(p *corev1.PersistentVolume) { p.Status.Phase = corev1.VolumeBound }, false},
		{"protection finalizer", func(p *corev1.PersistentVolume) { p.Finalizers = []string{"kubernetes.io/pv-protection"} }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cur := base.DeepCopy()
			c.change(cur)
			if got := pvEvents.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: cur}); got != c.want {
				t.Fatalf("reconcile = %v, want %v", got, c.want)
			}
		})
	}
	if !pvEvents.Create(event.CreateEvent{Object: base}) {
		t.Fatal("a new PersistentVolume starts no reconcile: its claim would wait for the binder's resync")
	}
}
