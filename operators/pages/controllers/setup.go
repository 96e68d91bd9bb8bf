package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// SetupWithManager watches sites (their spec, annotations and deletion:
// the operator's own status writes start nothing) and the Ingresses and
// Services they own, whose drift is put back. Sites are reconciled
// several at once, so a slow GitLab answer holds up one worker, not the
// others.
func (r *SiteReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	deleting := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("gitlabpagessite").
		For(&pagesv1.GitLabPagesSite{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deleting))).
		Owns(&networkingv1.Ingress{}).
		Owns(&corev1.Service{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}
