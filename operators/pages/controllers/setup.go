package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// serviceChanged passes the events of a Service that the sites owning it
// must act on: what the operator sets in it changed, or it is gone.
var serviceChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*corev1.Service)
		svc, okNew := e.ObjectNew.(*corev1.Service)
		if !okOld || !okNew {
			return true
		}
		return !equality.Semantic.DeepEqual(old.Spec, svc.Spec) || !equality.Semantic.DeepEqual(old.Labels, svc.Labels)
	},
}

// SetupWithManager watches sites (their spec, annotations and deletion:
// the operator's own status writes start nothing) and the Ingresses and
// Services they own, whose drift is put back. Sites are reconciled
// several at once, so a slow GitLab answer holds up one worker, not the
// others.
func (r *SiteReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	deleting := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	}}
	r.wake = make(chan event.TypedGenericEvent[*pagesv1.GitLabPagesSite])
	r.State.mu.Lock()
	r.State.onListed = r.wakeWaiting
	r.State.mu.Unlock()
	return ctrl.NewControllerManagedBy(mgr).
		Named("gitlabpagessite").
		For(&pagesv1.GitLabPagesSite{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deleting))).
		Owns(&networkingv1.Ingress{}).
		// A namespace's Service is every site's there: a change of what
		// the operator sets in it, or its deletion, wakes them all; the
		// owners the sites add one by one wake none.
		Owns(&corev1.Service{}, builder.MatchEveryOwner, builder.WithPredicates(serviceChanged)).
		// Sites waiting for the instance's domain list, once it is read.
		WatchesRawSource(source.Channel(r.wake, &handler.TypedEnqueueRequestForObject[*pagesv1.GitLabPagesSite]{})).
		// Failures back off per site; no queue-wide limit, since GitLab's
		// pace is the client's gate and a burst of new sites should not
		// wait on a token bucket.
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency,
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](r.MinBackoff, r.MaxBackoff)}).
		Complete(r)
}
