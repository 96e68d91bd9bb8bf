package controllers

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Names of the objects the operator keeps in every Project namespace.
const (
	QuotaName         = "atrium-quota"
	StorageQuotaName  = "atrium-storage"
	LimitRangeName    = "atrium-limits"
	NetworkPolicyName = "atrium-isolation"
)

// The ResourceQuota entries of the tier's storage quota: the claims of the
// StorageClass the volumes operator makes, and the storage they request.
var (
	StorageQuotaGigabytes = corev1.ResourceName(storagev1.StorageClassName + ".storageclass.storage.k8s.io/" + string(corev1.ResourceRequestsStorage))
	StorageQuotaVolumes   = corev1.ResourceName(storagev1.StorageClassName + ".storageclass.storage.k8s.io/" + string(corev1.ResourcePersistentVolumeClaims))
)

// Annotations Atrium writes on a Project's namespace. The openshift.io ones
// make OKD's console and `oc projects` show the Project as users expect.
const (
	displayNameAnnotation = "openshift.io/display-name"
	descriptionAnnotation = "openshift.io/description"
	requesterAnnotation   = "openshift.io/requester"
)

// roleBinding is one of the three bindings a Project namespace carries: the
// name of the binding, the built-in ClusterRole it grants and its subjects.
type roleBinding struct {
	Name     string
	Role     string
	Subjects []rbacv1.Subject
}

// roleBindings returns the bindings a Project asks for. The owner is always
// the first admin. A binding whose subject list is empty is returned too, so
// that the caller can remove it.
func roleBindings(p *tenancyv1.Project) []roleBinding {
	admins := p.Spec.Admins
	if p.Spec.Owner != "" {
		admins = append([]tenancyv1.Subject{{Kind: tenancyv1.UserSubject, Name: p.Spec.Owner}}, admins...)
	}
	return []roleBinding{
		{Name: "atrium-admins", Role: "admin", Subjects: rbacSubjects(admins)},
		{Name: "atrium-members", Role: "edit", Subjects: rbacSubjects(p.Spec.Members)},
		{Name: "atrium-viewers", Role: "view", Subjects: rbacSubjects(p.Spec.Viewers)},
	}
}

// rbacSubjects converts Project subjects to RBAC subjects, dropping exact
// duplicates and keeping the first-seen order so the applied object is stable.
func rbacSubjects(in []tenancyv1.Subject) []rbacv1.Subject {
	out := make([]rbacv1.Subject, 0, len(in))
	seen := map[tenancyv1.Subject]bool{}
	for _, s := range in {
		if s.Kind == "" {
			s.Kind = tenancyv1.UserSubject
		}
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, rbacv1.Subject{Kind: string(s.Kind), APIGroup: rbacv1.GroupName, Name: s.Name})
	}
	return out
}

// projectAccess lists who may act on the Project object itself, by access
// (see projectRoleAccesses): owner and admins may edit and delete it,
// members and viewers may read it, and the user it is offered to may accept
// it.
func projectAccess(p *tenancyv1.Project) map[string][]rbacv1.Subject {
	rbs := roleBindings(p)
	readers := slices.Clone(rbs[1].Subjects)
	for _, s := range rbs[2].Subjects {
		if !slices.Contains(readers, s) {
			readers = append(readers, s)
		}
	}
	var recipients []rbacv1.Subject
	if p.Spec.HandOverTo != "" {
		recipients = rbacSubjects([]tenancyv1.Subject{{Kind: tenancyv1.UserSubject, Name: p.Spec.HandOverTo}})
	}
	return map[string][]rbacv1.Subject{"edit": rbs[0].Subjects, "view": readers, "accept": recipients}
}

// ownerRef makes the Project the controlling owner of an object, so that
// deleting the Project collects it and the operator is told of its changes.
func ownerRef(p *tenancyv1.Project) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(tenancyv1.GroupVersion.String()).
		WithKind("Project").
		WithName(p.Name).
		WithUID(p.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// commonLabels are on every object the operator manages for a Project; the
// operator's cache only holds objects that carry them.
func commonLabels(p *tenancyv1.Project) map[string]string {
	return map[string]string{tenancyv1.ProjectLabel: p.Name}
}

// namespaceApply is the operator's share of the Project namespace: labels,
// annotations and the owner reference. Anything else on the namespace (a
// power user's labels, say) is left alone.
func namespaceApply(p *tenancyv1.Project) *corev1ac.NamespaceApplyConfiguration {
	labels := commonLabels(p)
	labels[tenancyv1.TenantNamespaceLabel] = "true"
	if p.Spec.Tier != "" {
		labels[tenancyv1.TierLabel] = p.Spec.Tier
	}
	if len(validation.IsValidLabelValue(p.Spec.Owner)) == 0 && p.Spec.Owner != "" {
		labels[tenancyv1.OwnerLabel] = p.Spec.Owner
	}
	annotations := map[string]string{}
	if p.Spec.DisplayName != "" {
		annotations[displayNameAnnotation] = p.Spec.DisplayName
	}
	if p.Spec.Description != "" {
		annotations[descriptionAnnotation] = p.Spec.Description
	}
	if p.Spec.Owner != "" {
		annotations[requesterAnnotation] = p.Spec.Owner
	}
	ns := corev1ac.Namespace(p.Name).WithLabels(labels).WithOwnerReferences(ownerRef(p))
	if len(annotations) > 0 {
		ns.WithAnnotations(annotations)
	}
	return ns
}

// roleBindingApply is a namespace RoleBinding granting a built-in role.
func roleBindingApply(p *tenancyv1.Project, rb roleBinding) *rbacv1ac.RoleBindingApplyConfiguration {
	out := rbacv1ac.RoleBinding(rb.Name, p.Name).
		WithLabels(commonLabels(p)).
		WithOwnerReferences(ownerRef(p)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(rb.Role))
	for _, s := range rb.Subjects {
		out.WithSubjects(rbacv1ac.Subject().WithKind(s.Kind).WithAPIGroup(s.APIGroup).WithName(s.Name))
	}
	return out
}

// projectRoleName is the name of the cluster-wide role that grants access to
// one Project object; Projects are cluster-scoped, so no namespace role can.
func projectRoleName(project, access string) string {
	return "atrium:project:" + project + ":" + access
}

// projectRoleAccesses are the accesses a Project has a ClusterRole and a
// ClusterRoleBinding for (see projectRoleName); the operator deletes them by
// these names when the Project goes. "accept" lets the user the Project is
// offered to (spec.handOverTo) read it and write the edit that accepts it;
// admission confines that edit to accepting or declining.
var projectRoleAccesses = []string{"edit", "view", "accept"}

// projectClusterRoles returns the ClusterRoles for the Project object
// itself: "edit" (get, list, watch, update, patch, delete), "view" (get,
// list, watch) and, while the Project is offered to someone, "accept" (get,
// list, watch, update, patch). All are limited to the Project's name. RBAC matches a list
// or watch to a rule with resourceNames only when the request selects that
// one name (fieldSelector=metadata.name=<name>), which is exactly what
// `kubectl get project NAME -w` and the wait of `kubectl delete` send; a
// plain list of Projects stays forbidden, so no tenant sees another's.
func projectClusterRoles(p *tenancyv1.Project) []*rbacv1ac.ClusterRoleApplyConfiguration {
	rule := func(verbs ...string) *rbacv1ac.PolicyRuleApplyConfiguration {
		return rbacv1ac.PolicyRule().
			WithAPIGroups(tenancyv1.GroupVersion.Group).
			WithResources("projects").
			WithResourceNames(p.Name).
			WithVerbs(verbs...)
	}
	out := []*rbacv1ac.ClusterRoleApplyConfiguration{
		rbacv1ac.ClusterRole(projectRoleName(p.Name, "edit")).
			WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
			WithRules(rule("get", "list", "watch", "update", "patch", "delete")),
		rbacv1ac.ClusterRole(projectRoleName(p.Name, "view")).
			WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
			WithRules(rule("get", "list", "watch")),
	}
	if p.Spec.HandOverTo != "" {
		out = append(out, rbacv1ac.ClusterRole(projectRoleName(p.Name, "accept")).
			WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
			WithRules(rule("get", "list", "watch", "update", "patch")))
	}
	return out
}

// projectClusterRoleBindingApply binds one of projectClusterRoles.
func projectClusterRoleBindingApply(p *tenancyv1.Project, access string, subjects []rbacv1.Subject) *rbacv1ac.ClusterRoleBindingApplyConfiguration {
	name := projectRoleName(p.Name, access)
	out := rbacv1ac.ClusterRoleBinding(name).
		WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(name))
	for _, s := range subjects {
		out.WithSubjects(rbacv1ac.Subject().WithKind(s.Kind).WithAPIGroup(s.APIGroup).WithName(s.Name))
	}
	return out
}

// quotaApply is the tier's ResourceQuota for the namespace, or nil when the
// tier sets none.
func quotaApply(p *tenancyv1.Project, tier *tenancyv1.ProjectTier) *corev1ac.ResourceQuotaApplyConfiguration {
	if tier == nil || tier.Spec.ResourceQuota == nil {
		return nil
	}
	q := tier.Spec.ResourceQuota
	spec := corev1ac.ResourceQuotaSpec()
	if len(q.Hard) > 0 {
		spec.WithHard(maps.Clone(q.Hard))
	}
	if len(q.Scopes) > 0 {
		spec.WithScopes(q.Scopes...)
	}
	if q.ScopeSelector != nil {
		sel := corev1ac.ScopeSelector()
		for _, e := range q.ScopeSelector.MatchExpressions {
			sel.WithMatchExpressions(corev1ac.ScopedResourceSelectorRequirement().
				WithScopeName(e.ScopeName).WithOperator(e.Operator).WithValues(e.Values...))
		}
		spec.WithScopeSelector(sel)
	}
	return corev1ac.ResourceQuota(QuotaName, p.Name).
		WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
		WithSpec(spec)
}

// storageQuotaApply is the ResourceQuota of the tier's storage offer
// (spec.storage), or nil when the tier limits neither the GiB nor the
// number of volumes. The volumes operator creates each volume's claim
// before its Cinder volume, so this quota, which the API server's quota
// admission enforces exactly and atomically however many claims are
// created at once, is the authority on the tier's storage; admission of
// OpenStackVolumes only refuses early, with a clearer message. It is a
// quota of its own rather than entries of atrium-quota: the tier's
// resourceQuota may carry scopes, and a scoped quota does not count
// claims.
func storageQuotaApply(p *tenancyv1.Project, tier *tenancyv1.ProjectTier) *corev1ac.ResourceQuotaApplyConfiguration {
	if tier == nil || tier.Spec.Storage == nil {
		return nil
	}
	st := tier.Spec.Storage
	hard := corev1.ResourceList{}
	if st.Gigabytes != nil {
		hard[StorageQuotaGigabytes] = *resource.NewQuantity(int64(*st.Gigabytes)<<30, resource.BinarySI)
	}
	if st.Volumes != nil {
		hard[StorageQuotaVolumes] = *resource.NewQuantity(int64(*st.Volumes), resource.DecimalSI)
	}
	if len(hard) == 0 {
		return nil
	}
	return corev1ac.ResourceQuota(StorageQuotaName, p.Name).
		WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(hard))
}

// limitRangeApply is the tier's LimitRange for the namespace, or nil when
// the tier sets none.
func limitRangeApply(p *tenancyv1.Project, tier *tenancyv1.ProjectTier) *corev1ac.LimitRangeApplyConfiguration {
	if tier == nil || tier.Spec.LimitRange == nil {
		return nil
	}
	spec := corev1ac.LimitRangeSpec()
	for _, l := range tier.Spec.LimitRange.Limits {
		item := corev1ac.LimitRangeItem().WithType(l.Type)
		setList := func(in corev1.ResourceList, set func(corev1.ResourceList) *corev1ac.LimitRangeItemApplyConfiguration) {
			if len(in) > 0 {
				set(maps.Clone(in))
			}
		}
		setList(l.Max, item.WithMax)
		setList(l.Min, item.WithMin)
		setList(l.Default, item.WithDefault)
		setList(l.DefaultRequest, item.WithDefaultRequest)
		setList(l.MaxLimitRequestRatio, item.WithMaxLimitRequestRatio)
		spec.WithLimits(item)
	}
	return corev1ac.LimitRange(LimitRangeName, p.Name).
		WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
		WithSpec(spec)
}

// isolated reports whether a Project wants its namespace closed to other
// tenants. Isolation is on unless explicitly Disabled.
func isolated(p *tenancyv1.Project) bool {
	return p.Spec.NetworkIsolation != tenancyv1.IsolationDisabled
}

// networkPolicyApply is the isolating NetworkPolicy, or nil when the Project
// turned isolation off. It selects every pod and admits traffic from the
// namespace itself and from the tier's platform namespaces; everything else,
// other tenants included, is refused. Every namespace peer also requires the
// absence of the tenant label, which the operator puts on each Project's
// namespace and tenants cannot remove: a tenant who names a Project like a
// platform namespace, or whose namespace happens to match a tier's selector,
// is still not admitted.
func networkPolicyApply(p *tenancyv1.Project, tier *tenancyv1.ProjectTier) *networkingv1ac.NetworkPolicyApplyConfiguration {
	if !isolated(p) {
		return nil
	}
	notTenant := func() *metav1ac.LabelSelectorRequirementApplyConfiguration {
		return metav1ac.LabelSelectorRequirement().WithKey(tenancyv1.TenantNamespaceLabel).WithOperator(metav1.LabelSelectorOpDoesNotExist)
	}
	rules := []*networkingv1ac.NetworkPolicyIngressRuleApplyConfiguration{
		networkingv1ac.NetworkPolicyIngressRule().WithFrom(
			networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector())),
	}
	if tier != nil {
		np := tier.Spec.NetworkPolicy
		if len(np.AllowFromNamespaces) > 0 {
			names := slices.Sorted(slices.Values(np.AllowFromNamespaces))
			rules = append(rules, networkingv1ac.NetworkPolicyIngressRule().WithFrom(
				networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().
					WithMatchExpressions(metav1ac.LabelSelectorRequirement().
						WithKey(corev1.LabelMetadataName).
						WithOperator(metav1.LabelSelectorOpIn).
						WithValues(names...), notTenant()))))
		}
		if sel := np.AllowFromNamespaceSelector; sel != nil {
			rules = append(rules, networkingv1ac.NetworkPolicyIngressRule().WithFrom(
				networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(labelSelectorApply(sel).WithMatchExpressions(notTenant()))))
		}
	}
	return networkingv1ac.NetworkPolicy(NetworkPolicyName, p.Name).
		WithLabels(commonLabels(p)).WithOwnerReferences(ownerRef(p)).
		WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector()).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(rules...))
}

func labelSelectorApply(in *metav1.LabelSelector) *metav1ac.LabelSelectorApplyConfiguration {
	out := metav1ac.LabelSelector()
	if len(in.MatchLabels) > 0 {
		out.WithMatchLabels(maps.Clone(in.MatchLabels))
	}
	for _, e := range in.MatchExpressions {
		out.WithMatchExpressions(metav1ac.LabelSelectorRequirement().
			WithKey(e.Key).WithOperator(e.Operator).WithValues(e.Values...))
	}
	return out
}

// DesiredObjects lists every object the operator applies for a Project
// with the given tier, in the order it applies them. The benchmark uses it
// to measure the API server's own floor for the same writes.
func DesiredObjects(p *tenancyv1.Project, tier *tenancyv1.ProjectTier) []runtime.ApplyConfiguration {
	out := []runtime.ApplyConfiguration{namespaceApply(p)}
	for _, rb := range roleBindings(p) {
		if len(rb.Subjects) > 0 {
			out = append(out, roleBindingApply(p, rb))
		}
	}
	for _, r := range projectClusterRoles(p) {
		out = append(out, r)
	}
	for _, access := range projectRoleAccesses {
		if subjects := projectAccess(p)[access]; len(subjects) > 0 {
			out = append(out, projectClusterRoleBindingApply(p, access, subjects))
		}
	}
	if q := quotaApply(p, tier); q != nil {
		out = append(out, q)
	}
	if q := storageQuotaApply(p, tier); q != nil {
		out = append(out, q)
	}
	if l := limitRangeApply(p, tier); l != nil {
		out = append(out, l)
	}
	if np := networkPolicyApply(p, tier); np != nil {
		out = append(out, np)
	}
	return out
}
