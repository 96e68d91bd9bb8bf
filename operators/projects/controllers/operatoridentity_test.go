package controllers_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/webhooks/projects/admission"
)

// The projects operator's ServiceAccount, stolen: whoever holds its token
// tries to turn the operator's rights (RoleBindings to admin/edit/view,
// ClusterRoles and ClusterRoleBindings, namespaces) into access outside the
// Projects. RBAC alone let every one of these through; the admission
// policies the operator ships with (operators/projects/config/rbac/policy.yaml)
// refuse them, in the API server, while the operator's own work (every
// other test of this package) goes on.

// operatorClient acts as the projects operator's ServiceAccount.
func operatorClient(t *testing.T) client.Client {
	t.Helper()
	cfg, err := serviceAccountConfig(operatorAccount)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refused fails the test unless the API server refused the request (RBAC
// or an admission policy), with a message holding every fragment.
func refused(t *testing.T, what string, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed", what)
		return
	}
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Errorf("%s: %v, want it refused", what, err)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: refused with %q, which does not mention %q", what, err, f)
		}
	}
}

var attacker = []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "mallory"}}

// projectOf is the Project a per-Project name (atrium:project:<name>:...)
// names, which its label must hold.
func projectOf(name string) map[string]string {
	parts := strings.Split(name, ":")
	if len(parts) != 4 {
		return map[string]string{tenancyv1.ProjectLabel: "victim"}
	}
	return map[string]string{tenancyv1.ProjectLabel: parts[2]}
}

func clusterRoleBinding(name, role string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: projectOf(name)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   attacker,
	}
}

func roleBinding(ns, role string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mallory-admins", Labels: map[string]string{tenancyv1.ProjectLabel: ns}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   attacker,
	}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: projectOf(name)},
		Rules:      rules,
	}
}

func projectRule(name string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{tenancyv1.GroupVersion.Group}, Resources: []string{"projects"}, ResourceNames: []string{name}, Verbs: verbs}
}

func TestStolenOperatorTokenGrantsNothingOutsideProjects(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	op := operatorClient(t)

	// A namespace that is no Project's, and a real Project.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain-infra"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := as(t, "tenant-victim").Create(ctx, project("victim")); err != nil {
		t.Fatal(err)
	}
	cleanup(t, "victim")
	waitReady(t, "victim")

	// Cluster-wide: the built-in roles, or the operator's own, to anyone.
	refused(t, "ClusterRoleBinding of admin", op.Create(ctx, clusterRoleBinding("mallory-admin", "admin")), "atrium:project:<project>:edit")
	refused(t, "ClusterRoleBinding of the operator's own role", op.Create(ctx, clusterRoleBinding("mallory-projects", "atrium-projects")))
	refused(t, "a Project's ClusterRoleBinding naming admin",
		op.Create(ctx, clusterRoleBinding("atrium:project:victim:edit-2", "admin")))
	refused(t, "a per-Project name bound to another role",
		op.Create(ctx, clusterRoleBinding("atrium:project:mallory:edit", "admin")), "may bind only the ClusterRole atrium:project:mallory:edit")
	refused(t, "moving a Project's binding to admin", patchRoleRef(ctx, op, "atrium:project:victim:edit", "admin"))

	// ClusterRoles: only the Project's own, on its own name.
	secrets := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}
	refused(t, "a ClusterRole reading Secrets", op.Create(ctx, clusterRole("atrium:project:mallory:edit", secrets)))
	// Rules it holds itself pass RBAC's escalation check; the policy stops them.
	bindings := rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings", "clusterrolebindings"}, Verbs: []string{"create"}}
	refused(t, "a per-Project ClusterRole granting RBAC writes",
		op.Create(ctx, clusterRole("atrium:project:mallory:edit", bindings)), "may grant only")
	refused(t, "a ClusterRole of another name", op.Create(ctx, clusterRole("mallory", projectRule("mallory", "get"))), "atrium:project:<project>:edit")
	refused(t, "a per-Project role on every Project",
		op.Create(ctx, clusterRole("atrium:project:mallory-all:edit", rbacv1.PolicyRule{APIGroups: []string{tenancyv1.GroupVersion.Group}, Resources: []string{"projects"}, Verbs: []string{"get"}})), "may grant only")
	refused(t, "a per-Project role on another Project",
		op.Create(ctx, clusterRole("atrium:project:mallory-other:edit", projectRule("victim", "update"))), "may grant only")
	refused(t, "a view role that edits",
		op.Create(ctx, clusterRole("atrium:project:mallory:view", projectRule("mallory", "update"))), "may grant only get, list, watch")
	aggregating := clusterRole("atrium:project:mallory-aggregating:edit")
	aggregating.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}}}
	refused(t, "an aggregating per-Project role", op.Create(ctx, aggregating))
	unlabelled := clusterRole("atrium:project:mallory-unlabelled:edit", projectRule("mallory-unlabelled", "get"))
	unlabelled.Labels = nil
	refused(t, "a per-Project role without its Project's label", op.Create(ctx, unlabelled), "tenancy.atrium.dev/project=mallory-unlabelled")
	refused(t, "deleting a built-in role", op.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin"}}))

	// In namespaces that are no Project's.
	for _, ns := range []string{"kube-system", "default", "plain-infra"} {
		refused(t, "RoleBinding of admin in "+ns, op.Create(ctx, roleBinding(ns, "admin")), "only in Project namespaces")
		refused(t, "NetworkPolicy in "+ns, op.Create(ctx, &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atrium-isolation"},
			Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
		}), "only in Project namespaces")
		refused(t, "ResourceQuota in "+ns, op.Create(ctx, &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atrium-quota"},
			Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}},
		}), "only in Project namespaces")
	}
	// In a Project's namespace, only the roles a Project grants.
	refused(t, "RoleBinding of the operator's own role in a Project namespace",
		op.Create(ctx, roleBinding("victim", "atrium-projects")), "grants the ClusterRole admin, edit or view")

	// Namespaces: never the platform's, and only Projects'.
	ns := &corev1.Namespace{}
	if err := op.Get(ctx, client.ObjectKey{Name: "kube-system"}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels[tenancyv1.ProjectLabel] = "kube-system"
	refused(t, "labelling kube-system as a Project's", op.Update(ctx, ns), "platform namespace kube-system")
	refused(t, "deleting atrium-system", op.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "atrium-system"}}), "platform namespace atrium-system")
	refused(t, "deleting a namespace that is no Project's", op.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain-infra"}}), "only Project namespaces")
	refused(t, "a namespace without its Project's label",
		op.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mallory"}}), "tenancy.atrium.dev/project=mallory")
	// Every name the projects webhook reserves by default.
	for _, pattern := range admission.DefaultReserved {
		name := strings.ReplaceAll(pattern, "*", "x")
		ns := &corev1.Namespace{}
		err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
		switch {
		case err == nil:
			ns.Labels[tenancyv1.ProjectLabel] = name
			refused(t, "labelling the reserved namespace "+name, op.Update(ctx, ns), "platform namespace "+name)
		case apierrors.IsNotFound(err):
			refused(t, "the reserved namespace "+name, op.Create(ctx, &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}},
			}), "platform namespace "+name)
		default:
			t.Fatal(err)
		}
	}
}

func patchRoleRef(ctx context.Context, c client.Client, name, role string) error {
	crb := &rbacv1.ClusterRoleBinding{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, crb); err != nil {
		return err
	}
	// roleRef is immutable, so the attack deletes and recreates it.
	if err := c.Delete(ctx, crb); err != nil {
		return err
	}
	crb.ResourceVersion, crb.UID = "", ""
	crb.RoleRef.Name = role
	return c.Create(ctx, crb)
}
