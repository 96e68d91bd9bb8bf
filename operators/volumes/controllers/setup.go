package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
)

// SetupWithManager watches OpenStackVolumes (their spec, annotations and
// deletion: the operator's own status writes start nothing), their claims
// and their PersistentVolumes (what a reconcile reads of them: see
// claimEvents and pvEvents), lists the project's volumes once it leads
// (see inventory), and checks every volume against one listing of
// Cinder's each Resync (see resyncer).
func (r *VolumeReconciler) SetupWithManager(_ context.Context, mgr ctrl.Manager, concurrency int) error {
	r.inventory = newInventory()
	if err := mgr.Add(&inventoryLoader{inv: r.inventory, cinder: r.Cinder, min: r.MinBackoff, max: r.MaxBackoff, answer: r.answerFromCold(mgr.GetCache())}); err != nil {
		return err
	}
	resyncs := make(chan event.GenericEvent)
	if r.Resync > 0 {
		if err := mgr.Add(&resyncer{r: r, objects: mgr.GetCache(), queue: resyncs}); err != nil {
			return err
		}
		r.sweeping = true
	}
	deleting := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	}}
	// A PersistentVolume is cluster-scoped and cannot be owned by a
	// namespaced object: its labels say whose it is.
	byLabels := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		l := o.GetLabels()
		if l[storagev1.VolumeNamespaceLabel] == "" || l[storagev1.VolumeLabel] == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l[storagev1.VolumeNamespaceLabel], Name: l[storagev1.VolumeLabel]}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("openstackvolume").
		For(&storagev1.OpenStackVolume{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deleting))).
		Owns(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(claimEvents)).
		Watches(&corev1.PersistentVolume{}, byLabels, builder.WithPredicates(pvEvents)).
		WatchesRawSource(source.Channel(resyncs, &handler.EnqueueRequestForObject{})).
		// Failures back off per volume; no queue-wide limit: Cinder's pace
		// is the client's gate. The plain work queue, not controller-
		// runtime's priority queue: in v0.24.1 the latter can deadlock on
		// shutdown (kubernetes-sigs/controller-runtime#3538, fixed after
		// this release), holding a stopping replica for the whole graceful
		// shutdown timeout, which the crash tests hit.
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency, UsePriorityQueue: ptr.To(false),
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](r.MinBackoff, r.MaxBackoff)}).
		Complete(r)
}

// claimEvents are the changes to a volume's claim that a reconcile acts
// on: its phase (bound), what it asks for and is bound to, its owner and
// labels, its deletion. A claim's creation is left out: only the
// operator makes these claims (the shipped policy atrium-volumes-claims),
// in a reconcile that goes on with it. So are the writes that change none
// of that: the operator's own nudge, the binder's annotations and the
// protection finalizer, each of which would otherwise cost a reconcile
// (and a Cinder read) per volume.
var claimEvents = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, ok1 := e.ObjectOld.(*corev1.PersistentVolumeClaim)
		cur, ok2 := e.ObjectNew.(*corev1.PersistentVolumeClaim)
		if !ok1 || !ok2 {
			return true
		}
		return old.Status.Phase != cur.Status.Phase || old.Spec.VolumeName != cur.Spec.VolumeName ||
			!equality.Semantic.DeepEqual(old.Spec.Resources, cur.Spec.Resources) || metaChanged(old, cur)
	},
}

// pvEvents are the changes to a volume's PersistentVolume that a
// reconcile acts on: its creation (the claim is nudged once it is seen),
// its spec (size, claim, Cinder volume), labels and deletion; not its
// phase or the binder's and the protection controller's bookkeeping.
var pvEvents = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, ok1 := e.ObjectOld.(*corev1.PersistentVolume)
		cur, ok2 := e.ObjectNew.(*corev1.PersistentVolume)
		if !ok1 || !ok2 {
			return true
		}
		return !equality.Semantic.DeepEqual(old.Spec, cur.Spec) || metaChanged(old, cur)
	},
}

// metaChanged says whether an update changed what a reconcile reads of a
// child's metadata: labels, owners, deletion.
func metaChanged(old, cur client.Object) bool {
	return !equality.Semantic.DeepEqual(old.GetLabels(), cur.GetLabels()) ||
		!equality.Semantic.DeepEqual(old.GetOwnerReferences(), cur.GetOwnerReferences()) ||
		old.GetDeletionTimestamp().IsZero() != cur.GetDeletionTimestamp().IsZero()
}
