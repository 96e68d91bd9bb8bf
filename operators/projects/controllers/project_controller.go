package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/slots"
)

// FieldOwner is the server-side apply field manager of the projects
// operator. Fields it does not apply belong to somebody else and are never
// touched.
const FieldOwner = client.FieldOwner("atrium-projects")

// tierIndex indexes Projects by spec.tier so a tier change finds its Projects.
const tierIndex = "spec.tier"

// ProjectReconciler turns a Project into its namespace and the objects in it.
type ProjectReconciler struct {
	Client client.Client
	// APIReader reads what must not come from a possibly lagging cache: the
	// namespace a deleted Project is about to remove.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Slots counts each owner's Projects (see package slots); nil leaves
	// the count to admission alone.
	Slots *slots.Ledger
	// MaxConcurrentReconciles bounds parallel reconciles; tier changes touch
	// every Project on the tier at once.
	MaxConcurrentReconciles int

	applied appliedMemory
}

// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects/status;projects/finalizers,verbs=get;update;patch
// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projecttiers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=admin;edit;view
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// SetupWithManager registers the reconciler and what it watches: Projects,
// the objects they own (so a deleted or edited one comes back) and tiers.
func (r *ProjectReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenancyv1.Project{}, tierIndex, func(o client.Object) []string {
		return []string{o.(*tenancyv1.Project).Spec.Tier}
	}); err != nil {
		return err
	}
	if err := indexSlots(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&tenancyv1.Project{}, builder.WithPredicates(predicate.Funcs{UpdateFunc: projectChanged})).
		Owns(&corev1.Namespace{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&rbacv1.ClusterRole{}).
		Owns(&rbacv1.ClusterRoleBinding{}).
		Owns(&corev1.ResourceQuota{}).
		Owns(&corev1.LimitRange{}).
		Owns(&networkingv1.NetworkPolicy{}).
		// Only a tier's spec matters to its Projects; its status changes
		// with every Project and must not wake them all.
		Watches(&tenancyv1.ProjectTier{}, handler.EnqueueRequestsFromMapFunc(r.projectsOnTier),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// projectChanged filters out the updates of a Project that only touch its
// status (most of them are the operator's own status patches): they ask for
// nothing new.
func projectChanged(e event.UpdateEvent) bool {
	o, n := e.ObjectOld, e.ObjectNew
	return o.GetGeneration() != n.GetGeneration() ||
		!equality.Semantic.DeepEqual(o.GetLabels(), n.GetLabels()) ||
		!equality.Semantic.DeepEqual(o.GetAnnotations(), n.GetAnnotations()) ||
		!equality.Semantic.DeepEqual(o.GetFinalizers(), n.GetFinalizers()) ||
		!equality.Semantic.DeepEqual(o.GetDeletionTimestamp(), n.GetDeletionTimestamp())
}

// projectsOnTier maps a tier event to every Project that uses the tier.
func (r *ProjectReconciler) projectsOnTier(ctx context.Context, o client.Object) []reconcile.Request {
	// Names only: the cache's objects, not copies of them.
	var list tenancyv1.ProjectList
	if err := r.Client.List(ctx, &list, client.MatchingFields{tierIndex: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Projects of tier", "tier", o.GetName())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
	}
	return out
}

// scope carries what one reconcile pass knows about a Project.
type scope struct {
	project *tenancyv1.Project
	tier    *tenancyv1.ProjectTier
}

// phase is one small step of a reconcile: it brings one part of the Project
// into place and returns the condition that reports on that part.
type phase struct {
	condition string
	run       func(context.Context, *scope) (result, error)
}

// result is what a phase reports: the reason and message of its condition
// and, when it must wait on something outside, how soon to look again.
type result struct {
	ok      bool
	reason  string
	message string
	requeue time.Duration
}

func (r *ProjectReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	log := ctrl.LoggerFrom(ctx)
	project := &tenancyv1.Project{}
	if err := r.Client.Get(ctx, req.NamespacedName, project); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if !project.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, project)
	}
	if !controllerutil.ContainsFinalizer(project, tenancyv1.ProjectFinalizer) {
		// A patch, not an update: users edit Projects too, and the finalizer
		// must not wait for their edits or overwrite them.
		orig := project.DeepCopy()
		controllerutil.AddFinalizer(project, tenancyv1.ProjectFinalizer)
		if err := r.Client.Patch(ctx, project, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			if apierrors.IsConflict(err) {
				// Somebody changed the Project; their change brings us back.
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, err
		}
	}

	before := project.DeepCopy()
	s := &scope{project: project}
	if err := r.loadTier(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	var requeue time.Duration
	complete := true
	defer func() {
		if complete && reterr == nil {
			project.Status.ObservedGeneration = project.Generation
		}
		setReady(project)
		if equality.Semantic.DeepEqual(before.Status, project.Status) {
			return
		}
		if err := r.Client.Status().Patch(ctx, project, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()

	var errs []error
	for _, ph := range r.phases() {
		res, err := ph.run(ctx, s)
		if err != nil {
			errs = append(errs, err)
			res = result{reason: "Error", message: err.Error()}
		}
		setCondition(project, ph.condition, res)
		if !res.ok {
			complete = false
			if res.requeue > 0 && (requeue == 0 || res.requeue < requeue) {
				requeue = res.requeue
			}
			// Without a namespace nothing else can be placed.
			if ph.condition == tenancyv1.NamespaceReadyCondition {
				break
			}
		}
	}
	if s.tier != nil {
		project.Status.Tier = &tenancyv1.AppliedTier{Name: s.tier.Name, Generation: s.tier.Generation}
	}
	if recheck, err := r.reconcileSlots(ctx, s); err != nil {
		errs = append(errs, err)
	} else if recheck > 0 && (requeue == 0 || recheck < requeue) {
		requeue = recheck
	}
	if err := kerrors.NewAggregate(errs); err != nil {
		log.Error(err, "reconcile incomplete", "project", klog.KObj(project))
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// phases are run in order on every pass; each looks at the world afresh.
func (r *ProjectReconciler) phases() []phase {
	return []phase{
		{tenancyv1.NamespaceReadyCondition, r.reconcileNamespace},
		{tenancyv1.RBACReadyCondition, r.reconcileRBAC},
		{tenancyv1.QuotaReadyCondition, r.reconcileQuota},
		{tenancyv1.NetworkPolicyReadyCondition, r.reconcileNetworkPolicy},
	}
}

// setCondition records a phase's result as a condition of the Project.
func setCondition(p *tenancyv1.Project, condition string, res result) {
	c := metav1.Condition{
		Type:               condition,
		Status:             metav1.ConditionTrue,
		Reason:             res.reason,
		Message:            res.message,
		ObservedGeneration: p.Generation,
	}
	if !res.ok {
		c.Status = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&p.Status.Conditions, c)
}

// partConditions are the conditions Ready summarizes.
var partConditions = []string{
	tenancyv1.NamespaceReadyCondition,
	tenancyv1.RBACReadyCondition,
	tenancyv1.QuotaReadyCondition,
	tenancyv1.NetworkPolicyReadyCondition,
}

// setReady sets Ready from the part conditions: true when all are true,
// otherwise false with the reason and message of the first that is not.
func setReady(p *tenancyv1.Project) {
	ready := metav1.Condition{
		Type:               tenancyv1.ReadyCondition,
		Status:             metav1.ConditionTrue,
		Reason:             "Provisioned",
		Message:            fmt.Sprintf("namespace %s is ready", p.Name),
		ObservedGeneration: p.Generation,
	}
	for _, t := range partConditions {
		c := meta.FindStatusCondition(p.Status.Conditions, t)
		if c == nil {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, "Pending", t+" not yet reconciled"
			break
		}
		if c.Status != metav1.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, c.Reason, c.Message
			break
		}
	}
	meta.SetStatusCondition(&p.Status.Conditions, ready)
}

// apply server-side applies an object as the projects operator, taking over
// fields that somebody else changed: the operator's fields are the Project's
// contract, so drift there is repaired; fields it does not set are left alone.
// An apply known to change nothing is skipped (see appliedMemory).
func (r *ProjectReconciler) apply(ctx context.Context, ac applyConfiguration) error {
	key, hash, err := keyAndHash(ac)
	if err != nil {
		return err
	}
	if r.applied.upToDate(ctx, r.Client, key, hash) {
		return nil
	}
	if err := r.Client.Apply(ctx, ac, FieldOwner, client.ForceOwnership); err != nil {
		r.applied.forget(key)
		return err
	}
	r.applied.recordAnswer(r.Client.Scheme(), key, hash, ac)
	return nil
}

// deleteIfExists removes an object the Project no longer asks for. The
// cache holds every object carrying the project label, so an object it does
// not know is either gone already or not the operator's to delete.
func (r *ProjectReconciler) deleteIfExists(ctx context.Context, obj client.Object) error {
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if obj.GetLabels()[tenancyv1.ProjectLabel] == "" {
		return nil
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, obj, client.Preconditions{UID: ptr.To(obj.GetUID())}))
}
