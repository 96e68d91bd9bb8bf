package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
)

const wait = 30 * time.Second

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test control plane")
	}
}

func project(name string, mutate ...func(*tenancyv1.Project)) *tenancyv1.Project {
	p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// waitReady waits until the Project's Ready condition is true for its
// current generation.
func waitReady(t *testing.T, name string) *tenancyv1.Project {
	t.Helper()
	p := &tenancyv1.Project{}
	err := testenv.Eventually(context.Background(), wait, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1.ReadyCondition)
		if c == nil || c.Status != metav1.ConditionTrue || p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("Project %s not ready: %+v", name, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustDeny asserts that err is an admission denial whose message contains
// every fragment.
func mustDeny(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a denial containing %q, got success", fragments)
	}
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Fatalf("expected a denial, got %v", err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("denial %q does not mention %q", err.Error(), f)
		}
	}
}

func cleanup(t *testing.T, names ...string) {
	t.Cleanup(func() {
		for _, n := range names {
			p := &tenancyv1.Project{}
			if err := env.Client.Get(context.Background(), client.ObjectKey{Name: n}, p); err != nil {
				continue
			}
			if p.Spec.DeletionProtection {
				_ = update(context.Background(), env.Client, n, func(p *tenancyv1.Project) { p.Spec.DeletionProtection = false })
			}
			_ = env.Client.Delete(context.Background(), p)
		}
	})
}

func TestUserCreatesProjectAndOwnsIt(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	alice := as(t, "tenant-a")
	cleanup(t, "alpha")

	if err := alice.Create(ctx, project("alpha", func(p *tenancyv1.Project) {
		p.Spec.DisplayName = "Alpha"
		p.Spec.Members = []tenancyv1.Subject{{Name: "tenant-m"}}
	})); err != nil {
		t.Fatal(err)
	}
	p := waitReady(t, "alpha")
	if p.Spec.Owner != "tenant-a" || p.Spec.Tier != "standard" {
		t.Fatalf("owner %q tier %q, want tenant-a and the default tier", p.Spec.Owner, p.Spec.Tier)
	}
	if p.Status.Namespace != "alpha" {
		t.Fatalf("status.namespace = %q", p.Status.Namespace)
	}

	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "alpha"}, ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels[tenancyv1.ProjectLabel] != "alpha" || ns.Labels[tenancyv1.TenantNamespaceLabel] != "true" || !metav1.IsControlledBy(ns, p) {
		t.Fatalf("namespace not labelled and owned: %v %v", ns.Labels, ns.OwnerReferences)
	}

	// The owner administers the namespace: writes there, and delegates.
	// The API server's RBAC authorizer learns of new bindings through a
	// watch, a few milliseconds after they are written.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: "alpha"}}
	if err := testenv.Eventually(ctx, 5*time.Second, func() error { return alice.Create(ctx, cm) }); err != nil {
		t.Fatalf("owner cannot write in the namespace: %v", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "helper", Namespace: "alpha"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "tenant-h"}},
	}
	if err := alice.Create(ctx, rb); err != nil {
		t.Fatalf("owner cannot bind roles in the namespace: %v", err)
	}
	// The member edits but cannot grant.
	member := as(t, "tenant-m")
	if err := member.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "alpha"}}); err != nil {
		t.Fatalf("member cannot write: %v", err)
	}
	rb2 := rb.DeepCopy()
	rb2.Name, rb2.ResourceVersion = "helper2", ""
	if err := member.Create(ctx, rb2); !apierrors.IsForbidden(err) {
		t.Fatalf("member could bind roles: %v", err)
	}
	// Another tenant sees nothing.
	bob := as(t, "tenant-b")
	if err := bob.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); !apierrors.IsForbidden(err) {
		t.Fatalf("another tenant read the namespace: %v", err)
	}
	if err := bob.Get(ctx, client.ObjectKey{Name: "alpha"}, &tenancyv1.Project{}); !apierrors.IsForbidden(err) {
		t.Fatalf("another tenant read the Project: %v", err)
	}
	// Owner and member read the Project; only the owner changes it.
	if err := alice.Get(ctx, client.ObjectKey{Name: "alpha"}, &tenancyv1.Project{}); err != nil {
		t.Fatalf("owner cannot read the Project: %v", err)
	}
	if err := member.Get(ctx, client.ObjectKey{Name: "alpha"}, &tenancyv1.Project{}); err != nil {
		t.Fatalf("member cannot read the Project: %v", err)
	}
	if err := update(ctx, member, "alpha", func(p *tenancyv1.Project) { p.Spec.Description = "by a member" }); !apierrors.IsForbidden(err) {
		t.Fatalf("member changed the Project: %v", err)
	}
	// Every part is reported.
	for _, c := range []string{tenancyv1.NamespaceReadyCondition, tenancyv1.RBACReadyCondition, tenancyv1.QuotaReadyCondition, tenancyv1.NetworkPolicyReadyCondition} {
		if !meta.IsStatusConditionTrue(p.Status.Conditions, c) {
			t.Fatalf("condition %s not true: %+v", c, p.Status.Conditions)
		}
	}
	for _, obj := range []client.Object{
		&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: controllers.QuotaName, Namespace: "alpha"}},
		&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: controllers.LimitRangeName, Namespace: "alpha"}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: controllers.NetworkPolicyName, Namespace: "alpha"}},
	} {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatalf("%T missing: %v", obj, err)
		}
	}
}

func TestUserCannotNameAnotherOwner(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "bravo", "bravo-admin")
	err := as(t, "tenant-a").Create(ctx, project("bravo", func(p *tenancyv1.Project) { p.Spec.Owner = "tenant-b" }))
	mustDeny(t, err, `spec.owner "tenant-b" is not you`, "leave spec.owner out")

	// A platform admin may create a Project for someone else.
	admin := as(t, "ops", "atrium-admins")
	bindPlatformAdmins(t)
	if err := admin.Create(ctx, project("bravo-admin", func(p *tenancyv1.Project) { p.Spec.Owner = "tenant-b" })); err != nil {
		t.Fatal(err)
	}
	if p := waitReady(t, "bravo-admin"); p.Spec.Owner != "tenant-b" {
		t.Fatalf("owner = %q", p.Spec.Owner)
	}
}

func TestOwnerHandOver(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "charlie")
	owner := as(t, "tenant-c")
	if err := owner.Create(ctx, project("charlie", func(p *tenancyv1.Project) {
		p.Spec.Admins = []tenancyv1.Subject{{Name: "tenant-c2"}}
	})); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "charlie")

	// An admin who is not the owner edits the Project but cannot take it over.
	admin := as(t, "tenant-c2")
	if err := testenv.Eventually(ctx, wait, func() error { return admin.Get(ctx, client.ObjectKey{Name: "charlie"}, &tenancyv1.Project{}) }); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, update(ctx, admin, "charlie", func(p *tenancyv1.Project) { p.Spec.Owner = "tenant-c2" }), "only by accepting an offer")
	mustDeny(t, update(ctx, admin, "charlie", func(p *tenancyv1.Project) { p.Spec.HandOverTo = "tenant-c2" }), "only by the owner")
	mustDeny(t, update(ctx, admin, "charlie", func(p *tenancyv1.Project) { p.Finalizers = nil }), "cannot be removed")
	if err := update(ctx, admin, "charlie", func(p *tenancyv1.Project) { p.Spec.Description = "edited by an admin" }); err != nil {
		t.Fatalf("an admin cannot edit the Project: %v", err)
	}

	// The owner offers the Project; the recipient accepts; the new owner
	// administers the namespace and the old one keeps nothing the Project
	// no longer grants them.
	mustDeny(t, update(ctx, owner, "charlie", func(p *tenancyv1.Project) { p.Spec.Owner = "tenant-c3" }), `set spec.handOverTo to "tenant-c3"`)
	if err := update(ctx, owner, "charlie", func(p *tenancyv1.Project) { p.Spec.HandOverTo = "tenant-c3" }); err != nil {
		t.Fatal(err)
	}
	recipient := as(t, "tenant-c3")
	err := testenv.Eventually(ctx, wait, func() error {
		return update(ctx, recipient, "charlie", func(p *tenancyv1.Project) { p.Spec.Owner = "tenant-c3" })
	})
	if err != nil {
		t.Fatalf("the recipient cannot accept: %v", err)
	}
	p := waitReady(t, "charlie")
	if p.Spec.Owner != "tenant-c3" || p.Spec.HandOverTo != "" {
		t.Fatalf("after acceptance: owner %q, handOverTo %q", p.Spec.Owner, p.Spec.HandOverTo)
	}
	err = testenv.Eventually(ctx, wait, func() error {
		return recipient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new-owner", Namespace: "charlie"}})
	})
	if err != nil {
		t.Fatalf("new owner cannot write: %v", err)
	}
	err = testenv.Eventually(ctx, wait, func() error {
		err := owner.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old-owner", Namespace: "charlie"}})
		if !apierrors.IsForbidden(err) {
			return fmt.Errorf("the previous owner still writes in the namespace: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPerUserLimit(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: "tiny"},
		Spec:       tenancyv1.ProjectTierSpec{SelfService: true, MaxProjectsPerUser: ptr.To[int32](2)},
	}
	if err := env.Client.Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tier) })
	cleanup(t, "delta-1", "delta-2", "delta-3")
	user := as(t, "tenant-d")
	onTiny := func(p *tenancyv1.Project) { p.Spec.Tier = "tiny" }
	for _, n := range []string{"delta-1", "delta-2"} {
		if err := user.Create(ctx, project(n, onTiny)); err != nil {
			t.Fatal(err)
		}
	}
	mustDeny(t, user.Create(ctx, project("delta-3", onTiny)), "already owns 2 Project(s)", `tier "tiny"`, "per user is 2")
	// Another user is not affected.
	if err := as(t, "tenant-e").Create(ctx, project("delta-3", onTiny)); err != nil {
		t.Fatal(err)
	}
}

func TestTierNotOpenToSelfService(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	tier := &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "restricted"}}
	if err := env.Client.Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tier) })
	cleanup(t, "echo")
	onRestricted := func(p *tenancyv1.Project) { p.Spec.Tier = "restricted" }
	mustDeny(t, as(t, "tenant-f").Create(ctx, project("echo", onRestricted)), `tier "restricted" is not open to self-service`)
	mustDeny(t, as(t, "tenant-f").Create(ctx, project("echo", func(p *tenancyv1.Project) { p.Spec.Tier = "gold" })), `ProjectTier "gold" does not exist`)

	// Granting "use" on the tier through RBAC opens it to that user.
	grant := []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "use-restricted"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"tenancy.atrium.dev"}, Resources: []string{"projecttiers"}, ResourceNames: []string{"restricted"}, Verbs: []string{"use"}}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "use-restricted"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "use-restricted"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "tenant-f"}}},
	}
	for _, o := range grant {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(ctx, o) })
	}
	err := testenv.Eventually(ctx, wait, func() error { return as(t, "tenant-f").Create(ctx, project("echo", onRestricted)) })
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, "echo")
}

func TestNamesAreChecked(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	user := as(t, "tenant-g")
	for _, tc := range []struct {
		name string
		want string
	}{
		{"default", "reserved"},
		{"kube-public-2", "reserved"},
		{"openshift-console", "reserved"},
		{"atrium-system", "reserved"},
		{"has.dots", "cannot be a namespace name"},
		{strings.Repeat("a", 64), "at most 63 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustDeny(t, user.Create(ctx, project(tc.name)), tc.want)
		})
	}
	t.Run("bad subjects", func(t *testing.T) {
		err := user.Create(ctx, project("golf", func(p *tenancyv1.Project) {
			p.Spec.Admins = []tenancyv1.Subject{{Kind: "Group", Name: "system:masters"}}
			p.Spec.Members = []tenancyv1.Subject{{Name: "x"}, {Name: "x"}}
		}))
		mustDeny(t, err, `group "system:masters" cannot be given a role`, `User "x" is listed twice`)
	})
}

func TestNetworkPolicyComesBack(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "hotel")
	if err := as(t, "tenant-h").Create(ctx, project("hotel", func(p *tenancyv1.Project) {
		p.Spec.Members = []tenancyv1.Subject{{Name: "tenant-h-member"}}
	})); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "hotel")
	member := as(t, "tenant-h-member")
	key := client.ObjectKey{Namespace: "hotel", Name: controllers.NetworkPolicyName}
	np := &networkingv1.NetworkPolicy{}
	if err := member.Get(ctx, key, np); err != nil {
		t.Fatal(err)
	}
	oldUID := np.UID

	// A member opens the policy up and adds a label of their own: the rule
	// change is reverted, their label stays.
	np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
	np.Labels["team"] = "web"
	if err := member.Update(ctx, np); err != nil {
		t.Fatal(err)
	}
	waitPolicyClosed(ctx, t, key, np)
	if np.Labels["team"] != "web" {
		t.Fatalf("the member's own label was removed: %v", np.Labels)
	}

	// A member deletes it: it comes back.
	if err := member.Delete(ctx, np); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, wait, func() error {
		if err := env.Client.Get(ctx, key, np); err != nil {
			return err
		}
		if np.UID == oldUID {
			return fmt.Errorf("not yet recreated")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Turning isolation off removes it, on purpose.
	if err := update(ctx, env.Client, "hotel", func(p *tenancyv1.Project) { p.Spec.NetworkIsolation = tenancyv1.IsolationDisabled }); err != nil {
		t.Fatal(err)
	}
	p := waitReady(t, "hotel")
	if c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1.NetworkPolicyReadyCondition); c.Reason != "IsolationDisabled" {
		t.Fatalf("reason %q", c.Reason)
	}
	if err := env.Client.Get(ctx, key, np); !apierrors.IsNotFound(err) {
		t.Fatalf("policy still there: %v", err)
	}
}

func TestTierChangeReachesEveryProject(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: "shared"},
		Spec: tenancyv1.ProjectTierSpec{SelfService: true, ResourceQuota: &corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}},
	}
	if err := env.Client.Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tier) })
	names := []string{"india-1", "india-2", "india-3"}
	cleanup(t, names...)
	for i, n := range names {
		if err := as(t, fmt.Sprintf("tenant-i%d", i)).Create(ctx, project(n, func(p *tenancyv1.Project) { p.Spec.Tier = "shared" })); err != nil {
			t.Fatal(err)
		}
		waitReady(t, n)
	}

	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tier), tier); err != nil {
		t.Fatal(err)
	}
	tier.Spec.ResourceQuota.Hard[corev1.ResourcePods] = resource.MustParse("25")
	tier.Spec.NetworkPolicy.AllowFromNamespaces = []string{"monitoring"}
	if err := env.Client.Update(ctx, tier); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		err := testenv.Eventually(ctx, wait, func() error {
			q := &corev1.ResourceQuota{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: n, Name: controllers.QuotaName}, q); err != nil {
				return err
			}
			if got := q.Spec.Hard[corev1.ResourcePods]; got.String() != "25" {
				return fmt.Errorf("%s: pods quota %s", n, got.String())
			}
			np := &networkingv1.NetworkPolicy{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: n, Name: controllers.NetworkPolicyName}, np); err != nil {
				return err
			}
			if len(np.Spec.Ingress) != 2 {
				return fmt.Errorf("%s: policy has %d rules", n, len(np.Spec.Ingress))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A tier in use cannot be deleted.
	mustDeny(t, env.Client.Delete(ctx, tier.DeepCopy()), "ProjectTier shared is used by 3 Project(s)", "india-1")

	// The tier reports the rollout as complete.
	err := testenv.Eventually(ctx, wait, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tier), tier); err != nil {
			return err
		}
		c := meta.FindStatusCondition(tier.Status.Conditions, tenancyv1.ReadyCondition)
		if tier.Status.Projects != 3 || c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != tier.Generation {
			return fmt.Errorf("tier status %+v", tier.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdoptExistingNamespace(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	for _, n := range []string{"juliet", "juliet-other"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"team": "power"}}}
		if err := env.Client.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		grantNamespaceAdmin(t, n, "power-j")
	}
	cleanup(t, "juliet", "juliet-other")
	// Somebody who is not admin there is refused.
	mustDeny(t, as(t, "tenant-j").Create(ctx, project("juliet-other")), "namespace juliet-other already exists", "rights you do not hold there")

	// The namespace's admin adopts it; their own label and RoleBinding stay.
	if err := as(t, "power-j").Create(ctx, project("juliet")); err != nil {
		t.Fatal(err)
	}
	p := waitReady(t, "juliet")
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "juliet"}, ns); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(ns, p) || ns.Labels["team"] != "power" || ns.Labels[tenancyv1.ProjectLabel] != "juliet" {
		t.Fatalf("namespace not adopted cleanly: %v %v", ns.Labels, ns.OwnerReferences)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "juliet", Name: "power-admin"}, &rbacv1.RoleBinding{}); err != nil {
		t.Fatalf("the power user's RoleBinding is gone: %v", err)
	}
}

func TestDeletionProtection(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "kilo")
	owner := as(t, "tenant-k")
	if err := owner.Create(ctx, project("kilo", func(p *tenancyv1.Project) { p.Spec.DeletionProtection = true })); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "kilo")
	p := &tenancyv1.Project{}
	if err := testenv.Eventually(ctx, wait, func() error { return owner.Get(ctx, client.ObjectKey{Name: "kilo"}, p) }); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, owner.Delete(ctx, p), "deletion protection", "spec.deletionProtection to false")
	mustDeny(t, env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kilo"}}), "deletion protection")

	if err := update(ctx, owner, "kilo", func(p *tenancyv1.Project) { p.Spec.DeletionProtection = false }); err != nil {
		t.Fatal(err)
	}
	if err := owner.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The Project goes once its namespace is gone.
	err := testenv.Eventually(ctx, wait, func() error {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "kilo"}, &tenancyv1.Project{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Project still there: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "kilo"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the Project went before its namespace: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "atrium:project:kilo:edit"}, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
		t.Fatalf("per-Project ClusterRole left behind: %v", err)
	}
}

// update changes a Project the way a user does: read, change, write, and
// again if somebody (the operator's status) wrote in between.
func update(ctx context.Context, c client.Client, name string, mutate func(*tenancyv1.Project)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := &tenancyv1.Project{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		mutate(p)
		return c.Update(ctx, p)
	})
}

// grantNamespaceAdmin makes user a full admin of an existing namespace, as
// a power user who made it would be: the built-in admin role there, and the
// right to delete the namespace itself.
func grantNamespaceAdmin(t *testing.T, ns, user string) {
	t.Helper()
	subjects := []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}}
	for _, o := range []client.Object{
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "power-admin", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   subjects,
		},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "power-delete-namespace", Namespace: ns},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{ns}, Verbs: []string{"get", "delete"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "power-delete-namespace", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "power-delete-namespace"},
			Subjects:   subjects,
		},
	} {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

var bindOnce = map[string]bool{}

// bindPlatformAdmins binds the shipped platform-admin role to the
// "atrium-admins" group.
func bindPlatformAdmins(t *testing.T) {
	t.Helper()
	if bindOnce["admins"] {
		return
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "test-platform-admins"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "atrium:platform-admin"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "atrium-admins"}}}
	if err := env.Client.Create(context.Background(), crb); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	bindOnce["admins"] = true
}

// waitPolicyClosed waits until the operator has put the NetworkPolicy's
// ingress rules back (a rule that admits only its sources), leaving np
// as the server holds it.
func waitPolicyClosed(ctx context.Context, t *testing.T, key client.ObjectKey, np *networkingv1.NetworkPolicy) {
	t.Helper()
	err := testenv.Eventually(ctx, wait, func() error {
		if err := env.Client.Get(ctx, key, np); err != nil {
			return err
		}
		if len(np.Spec.Ingress) == 0 || len(np.Spec.Ingress[0].From) == 0 {
			return fmt.Errorf("ingress rules still open: %+v", np.Spec.Ingress)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
