package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// loadTier reads the Project's tier; a missing tier is not an error here,
// the phases that need it report it on their conditions.
func (r *ProjectReconciler) loadTier(ctx context.Context, s *scope) error {
	if s.project.Spec.Tier == "" {
		return nil
	}
	tier := &tenancyv1.ProjectTier{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: s.project.Spec.Tier}, tier)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	s.tier = tier
	return nil
}

// tierMissing is the result of a phase that cannot be brought to its tier
// because the tier is gone. What is already in the namespace stays as it is:
// removing quota or isolation because an admin deleted a tier would open the
// tenant up by surprise.
func tierMissing(s *scope) (result, bool) {
	if s.project.Spec.Tier == "" || s.tier != nil {
		return result{}, false
	}
	return result{
		reason:  "TierNotFound",
		message: fmt.Sprintf("ProjectTier %q does not exist; what was applied before is kept until it exists again or spec.tier names another tier", s.project.Spec.Tier),
	}, true
}

// reconcileNamespace creates the Project's namespace, or adopts the one that
// admission approved, and keeps the operator's labels and annotations on it.
func (r *ProjectReconciler) reconcileNamespace(ctx context.Context, s *scope) (result, error) {
	p := s.project
	ns := &corev1.Namespace{}
	// A namespace the cache does not know is created with a plain create:
	// if it exists after all (the cache lags, or somebody just made it), the
	// create fails and the next pass looks again; it is never taken over.
	err := r.Client.Get(ctx, client.ObjectKey{Name: p.Name}, ns)
	switch {
	case apierrors.IsNotFound(err):
		return r.createNamespace(ctx, p)
	case err != nil:
		return result{}, err
	}

	if !ns.DeletionTimestamp.IsZero() {
		return result{
			reason:  "NamespaceTerminating",
			message: fmt.Sprintf("namespace %s is being deleted; it will be created again once it is gone", ns.Name),
			requeue: 5 * time.Second,
		}, nil
	}
	if !metav1.IsControlledBy(ns, p) {
		if owner := metav1.GetControllerOf(ns); owner != nil || p.Annotations[tenancyv1.AdoptNamespaceAnnotation] != string(ns.UID) {
			return result{
				reason: "NamespaceConflict",
				message: fmt.Sprintf("namespace %s already exists and was not approved for adoption by this Project; "+
					"an admin of the namespace must create the Project, or the namespace must be removed", ns.Name),
			}, nil
		}
		ctrl.LoggerFrom(ctx).Info("adopting namespace", "namespace", klog.KObj(ns))
		r.Recorder.Eventf(p, ns, corev1.EventTypeNormal, "NamespaceAdopted", "Adopt", "Adopted existing namespace %s", ns.Name)
	}
	if err := r.apply(ctx, namespaceApply(p)); err != nil {
		return result{}, err
	}
	p.Status.Namespace = ns.Name
	return namespaceReady(ns.Name), nil
}

// namespaceReady is the same on the pass that creates the namespace and on
// every later one, so a later pass has no status to write.
func namespaceReady(name string) result {
	return result{ok: true, reason: "NamespaceReady", message: fmt.Sprintf("namespace %s belongs to the Project", name)}
}

// createNamespace creates the namespace with a plain create, which fails if
// somebody created it in the meantime, and lets the next pass apply the rest.
func (r *ProjectReconciler) createNamespace(ctx context.Context, p *tenancyv1.Project) (result, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Labels: commonLabels(p)}}
	if err := controllerutil.SetControllerReference(p, ns, r.Client.Scheme()); err != nil {
		return result{}, err
	}
	err := r.Client.Create(ctx, ns)
	if apierrors.IsAlreadyExists(err) {
		return result{reason: "NamespaceCreating", message: "a namespace of this name appeared while it was being created; checking it again", requeue: time.Second}, nil
	}
	if err != nil {
		return result{}, err
	}
	r.Recorder.Eventf(p, ns, corev1.EventTypeNormal, "NamespaceCreated", "Create", "Created namespace %s", ns.Name)
	if err := r.apply(ctx, namespaceApply(p)); err != nil {
		return result{}, err
	}
	p.Status.Namespace = ns.Name
	return namespaceReady(ns.Name), nil
}

// reconcileRBAC grants the namespace roles and access to the Project object.
func (r *ProjectReconciler) reconcileRBAC(ctx context.Context, s *scope) (result, error) {
	p := s.project
	counts := make([]int, 0, 3)
	for _, rb := range roleBindings(p) {
		counts = append(counts, len(rb.Subjects))
		if len(rb.Subjects) == 0 {
			if err := r.deleteIfExists(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: rb.Name, Namespace: p.Name}}); err != nil {
				return result{}, err
			}
			continue
		}
		if err := r.apply(ctx, roleBindingApply(p, rb)); err != nil {
			return result{}, err
		}
	}

	for _, role := range projectClusterRoles(p) {
		if err := r.apply(ctx, role); err != nil {
			return result{}, err
		}
	}
	if p.Spec.HandOverTo == "" {
		if err := r.deleteIfExists(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: projectRoleName(p.Name, "accept")}}); err != nil {
			return result{}, err
		}
	}
	for access, subjects := range projectAccess(p) {
		if len(subjects) == 0 {
			crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: projectRoleName(p.Name, access)}}
			if err := r.deleteIfExists(ctx, crb); err != nil {
				return result{}, err
			}
			continue
		}
		if err := r.apply(ctx, projectClusterRoleBindingApply(p, access, subjects)); err != nil {
			return result{}, err
		}
	}
	return result{ok: true, reason: "RBACReady", message: fmt.Sprintf(
		"%d admin(s), %d member(s), %d viewer(s) bound", counts[0], counts[1], counts[2])}, nil
}

// reconcileQuota keeps the tier's ResourceQuotas (atrium-quota from
// spec.resourceQuota, atrium-storage from spec.storage) and LimitRange.
func (r *ProjectReconciler) reconcileQuota(ctx context.Context, s *scope) (result, error) {
	if res, missing := tierMissing(s); missing {
		return res, nil
	}
	p := s.project
	if q := quotaApply(p, s.tier); q != nil {
		if err := r.apply(ctx, q); err != nil {
			return result{}, err
		}
	} else if err := r.deleteIfExists(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: QuotaName, Namespace: p.Name}}); err != nil {
		return result{}, err
	}
	if q := storageQuotaApply(p, s.tier); q != nil {
		if err := r.apply(ctx, q); err != nil {
			return result{}, err
		}
	} else if err := r.deleteIfExists(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: StorageQuotaName, Namespace: p.Name}}); err != nil {
		return result{}, err
	}
	if l := limitRangeApply(p, s.tier); l != nil {
		if err := r.apply(ctx, l); err != nil {
			return result{}, err
		}
	} else if err := r.deleteIfExists(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: LimitRangeName, Namespace: p.Name}}); err != nil {
		return result{}, err
	}
	if s.tier == nil {
		return result{ok: true, reason: "NoTier", message: "the Project has no tier: no quota or limits apply"}, nil
	}
	return result{ok: true, reason: "QuotaReady", message: fmt.Sprintf("quota and limits of tier %s (generation %d) applied", s.tier.Name, s.tier.Generation)}, nil
}

// reconcileNetworkPolicy keeps the isolating NetworkPolicy, or removes it when
// the Project turned isolation off.
func (r *ProjectReconciler) reconcileNetworkPolicy(ctx context.Context, s *scope) (result, error) {
	p := s.project
	np := networkPolicyApply(p, s.tier)
	if np == nil {
		if err := r.deleteIfExists(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: NetworkPolicyName, Namespace: p.Name}}); err != nil {
			return result{}, err
		}
		return result{ok: true, reason: "IsolationDisabled", message: "network isolation is turned off for this Project"}, nil
	}
	if res, missing := tierMissing(s); missing {
		return res, nil
	}
	if err := r.apply(ctx, np); err != nil {
		return result{}, err
	}
	return result{ok: true, reason: "Isolated", message: "traffic from other tenants' namespaces is refused"}, nil
}

// deletingRequeue is how soon a deleted Project looks at its namespace
// again when no event about the namespace has come; namespace events (its
// status conditions, its disappearance) bring it back sooner.
const deletingRequeue = 10 * time.Second

// reconcileDelete asks the API server to delete the Project's namespace,
// waits until the namespace is gone, removes what the Project made outside
// it (the per-Project ClusterRoles and ClusterRoleBindings, by name, and its
// slots in its owner's count), then
// lets the Project go. So `kubectl delete project` returns when everything
// is gone and the name is free again; while it waits, the people of the
// Project can still read and watch the Project, and its Ready condition
// says what the namespace is waiting for. Every step may be repeated.
func (r *ProjectReconciler) reconcileDelete(ctx context.Context, p *tenancyv1.Project) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p, tenancyv1.ProjectFinalizer) {
		return ctrl.Result{}, nil
	}

	ns := &corev1.Namespace{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: p.Name}, ns)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return ctrl.Result{}, err
	case metav1.IsControlledBy(ns, p):
		// A namespace the Project does not control (a conflict, or orphaned
		// by `kubectl delete --cascade=orphan`) is not the Project's to
		// delete or to wait for.
		if ns.DeletionTimestamp.IsZero() {
			if err := r.Client.Delete(ctx, ns, client.PropagationPolicy(metav1.DeletePropagationBackground),
				client.Preconditions{UID: ptr.To(ns.UID)}); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
			r.Recorder.Eventf(p, ns, corev1.EventTypeNormal, "NamespaceDeleted", "Delete", "Deleting namespace %s", ns.Name)
		}
		return ctrl.Result{RequeueAfter: deletingRequeue}, r.reportDeleting(ctx, p, ns)
	}

	if err := r.deleteProjectRoles(ctx, p); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.releaseSlots(ctx, p); err != nil {
		return ctrl.Result{}, err
	}
	orig := p.DeepCopy()
	controllerutil.RemoveFinalizer(p, tenancyv1.ProjectFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, p, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})))
}

// reportDeleting sets Ready to say that the Project waits for its namespace,
// with what the namespace reports is holding its deletion up.
func (r *ProjectReconciler) reportDeleting(ctx context.Context, p *tenancyv1.Project, ns *corev1.Namespace) error {
	before := p.DeepCopy()
	meta.SetStatusCondition(&p.Status.Conditions, deletingCondition(p, ns))
	if equality.Semantic.DeepEqual(before.Status, p.Status) {
		return nil
	}
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, p, client.MergeFrom(before)))
}

// deletingCondition is the Ready condition of a Project whose namespace is
// being deleted: the namespace's own conditions that are true (content that
// cannot be deleted, finalizers that remain) say why it is still there.
func deletingCondition(p *tenancyv1.Project, ns *corev1.Namespace) metav1.Condition {
	msg := fmt.Sprintf("namespace %s is being deleted; the Project goes once it is gone", ns.Name)
	var holds []string
	for _, c := range ns.Status.Conditions {
		if c.Status == corev1.ConditionTrue && c.Message != "" {
			holds = append(holds, c.Message)
		}
	}
	if len(holds) > 0 {
		msg += ": " + strings.Join(holds, "; ")
	}
	return metav1.Condition{
		Type:               tenancyv1.ReadyCondition,
		Status:             metav1.ConditionFalse,
		Reason:             "Deleting",
		Message:            msg,
		ObservedGeneration: p.Generation,
	}
}

// deleteProjectRoles removes the Project's ClusterRoleBindings and
// ClusterRoles by their names (projectRoleName), bindings first: an object
// of that name that does not carry the Project's label is not the
// operator's and stays; one already gone is fine. Deleting by name needs
// only the delete verb, where a delete by label would need deletecollection
// on every ClusterRole of the cluster.
func (r *ProjectReconciler) deleteProjectRoles(ctx context.Context, p *tenancyv1.Project) error {
	for _, newObj := range []func() client.Object{
		func() client.Object { return &rbacv1.ClusterRoleBinding{} },
		func() client.Object { return &rbacv1.ClusterRole{} },
	} {
		for _, access := range projectRoleAccesses {
			obj := newObj()
			// Read live: the cache may not have seen an object created a
			// moment ago, and a missed one would be left behind for good.
			if err := r.APIReader.Get(ctx, client.ObjectKey{Name: projectRoleName(p.Name, access)}, obj); err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				return err
			}
			if obj.GetLabels()[tenancyv1.ProjectLabel] != p.Name {
				continue
			}
			if err := r.Client.Delete(ctx, obj, client.Preconditions{UID: ptr.To(obj.GetUID())}); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	return nil
}
