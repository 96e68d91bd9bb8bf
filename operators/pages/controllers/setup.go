package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// serviceEvents wakes the sites a namespace's shared Service concerns:
// its owners when what the operator sets in it changed (one of them puts
// it back), and every site of the namespace when it is gone (the first
// makes it again). Changes of its owners, and the sites' own Services of
// earlier versions, wake none.
func (r *SiteReconciler) serviceEvents() handler.TypedEventHandler[client.Object, reconcile.Request] {
	owners := func(obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, ref := range obj.GetOwnerReferences() {
			if isSite(ref) {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name}})
			}
		}
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, okOld := e.ObjectOld.(*corev1.Service)
			svc, okNew := e.ObjectNew.(*corev1.Service)
			if !okOld || !okNew || svc.Name != ServiceName {
				return
			}
			if !equality.Semantic.DeepEqual(old.Spec, svc.Spec) || !equality.Semantic.DeepEqual(old.Labels, svc.Labels) {
				owners(svc, q)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.Object.GetName() != ServiceName {
				return
			}
			sites := &pagesv1.GitLabPagesSiteList{}
			if err := r.Client.List(ctx, sites, client.InNamespace(e.Object.GetNamespace())); err != nil {
				owners(e.Object, q)
				return
			}
			for i := range sites.Items {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&sites.Items[i])})
			}
		},
	}
}

// SetupWithManager watches sites (their spec, annotations and deletion:
// the operator's own status writes start nothing), the Ingresses they
// own and the namespaces' shared Services (serviceEvents), whose drift is
// put back. Sites are reconciled
// several at once, so a slow GitLab answer holds up one worker, not the
// others.
func (r *SiteReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	deleting := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	}}
	r.wake = make(chan event.TypedGenericEvent[*pagesv1.GitLabPagesSite])
	r.stopped = make(chan struct{})
	// Closed when the leader's runnables stop, which is when the
	// channel's reader stops too.
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		close(r.stopped)
		return nil
	})); err != nil {
		return err
	}
	r.State.mu.Lock()
	r.State.onListed = r.wakeWaiting
	r.State.mu.Unlock()
	return ctrl.NewControllerManagedBy(mgr).
		Named("gitlabpagessite").
		For(&pagesv1.GitLabPagesSite{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deleting))).
		Owns(&networkingv1.Ingress{}).
		Watches(&corev1.Service{}, r.serviceEvents()).
		// Sites waiting for the instance's domain list, once it is read.
		WatchesRawSource(source.Channel(r.wake, &handler.TypedEnqueueRequestForObject[*pagesv1.GitLabPagesSite]{})).
		// Failures back off per site; no queue-wide limit, since GitLab's
		// pace is the client's gate and a burst of new sites should not
		// wait on a token bucket.
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency,
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](r.MinBackoff, r.MaxBackoff)}).
		Complete(r)
}
