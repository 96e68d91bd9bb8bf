package controllers_test

// The hostile-tenant suite of Projects: each test is an attack a tenant
// could try against the real API server, the webhook and the operator
// (both as their shipped ServiceAccounts), and fails if the attack works.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/slots"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/projects/controllers"
)

// limitedTier creates a self-service tier with a per-user limit.
func limitedTier(t *testing.T, name string, limit int32) {
	t.Helper()
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       tenancyv1.ProjectTierSpec{SelfService: true, MaxProjectsPerUser: ptr.To(limit)},
	}
	if err := env.Client.Create(context.Background(), tier); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tier) })
}

func onTier(tier string) func(*tenancyv1.Project) {
	return func(p *tenancyv1.Project) { p.Spec.Tier = tier }
}

// owned lists the Projects a user owns, as the API server has them.
func owned(t *testing.T, owner string) []string {
	t.Helper()
	var list tenancyv1.ProjectList
	if err := env.Client.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list.Items {
		if p.Spec.Owner == owner && p.DeletionTimestamp.IsZero() {
			out = append(out, p.Name)
		}
	}
	return out
}

// deleteAndWait deletes Projects as the test's admin and waits until they
// are gone.
func deleteAndWait(t *testing.T, names ...string) {
	t.Helper()
	ctx := context.Background()
	for _, n := range names {
		_ = env.Client.Delete(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	for _, n := range names {
		err := testenv.Eventually(ctx, wait, func() error {
			err := env.Client.Get(ctx, client.ObjectKey{Name: n}, &tenancyv1.Project{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("Project %s still there (%v)", n, err)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Fifty concurrent creates by one user on a tier that allows three land at
// exactly three, every round, and each refusal says why.
func TestAttackConcurrentCreatesPastTheLimit(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	const limit, attempts, rounds = 3, 50, 3
	limitedTier(t, "race", limit)
	for round := range rounds {
		user := fmt.Sprintf("racer-%d", round)
		c := as(t, user)
		var mu sync.Mutex
		var admitted []string
		var wg sync.WaitGroup
		for i := range attempts {
			name := fmt.Sprintf("race-%d-%d", round, i)
			cleanup(t, name)
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := c.Create(ctx, project(name, onTier("race")))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					admitted = append(admitted, name)
				case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "the most that tier allows per user is 3"):
				default:
					t.Errorf("create %s: unexpected error %v", name, err)
				}
			}()
		}
		wg.Wait()
		if len(admitted) != limit {
			t.Fatalf("round %d: %d of %d concurrent creates admitted (%v), want exactly %d", round, len(admitted), attempts, admitted, limit)
		}
		if got := owned(t, user); len(got) != limit {
			t.Fatalf("round %d: %s owns %v", round, user, got)
		}
		// Deleting one frees exactly one.
		deleteAndWait(t, admitted[0])
		if err := testenv.Eventually(ctx, wait, func() error {
			return c.Create(ctx, project(fmt.Sprintf("race-%d-again", round), onTier("race")))
		}); err != nil {
			t.Fatalf("round %d: after deleting one, no new Project: %v", round, err)
		}
		cleanup(t, fmt.Sprintf("race-%d-again", round))
		mustDeny(t, c.Create(ctx, project(fmt.Sprintf("race-%d-over", round), onTier("race"))), "already owns 3")
	}
}

// A dry run decides like the real request but counts nothing.
func TestDryRunsTakeNoSlot(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	limitedTier(t, "dry", 1)
	c := as(t, "dry-runner")
	for i := range 5 {
		if err := c.Create(ctx, project(fmt.Sprintf("dry-%d", i), onTier("dry")), client.DryRunAll); err != nil {
			t.Fatalf("dry run %d: %v", i, err)
		}
	}
	cleanup(t, "dry-real", "dry-over")
	if err := c.Create(ctx, project("dry-real", onTier("dry"))); err != nil {
		t.Fatalf("the dry runs used up the limit: %v", err)
	}
	mustDeny(t, c.Create(ctx, project("dry-over", onTier("dry")), client.DryRunAll), "already owns 1")
}

// Handing Projects over to made-up names, or to a real user unasked, used
// to free the owner's count and use up the recipient's. Now a hand-over is
// an offer the recipient accepts, and the count follows ownership.
func TestAttackHandOverToEscapeTheLimit(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	limitedTier(t, "single", 1)
	cleanup(t, "ho-mine", "ho-second", "ho-victims-own", "ho-after")
	mallory, victim := as(t, "mallory"), as(t, "victim")
	if err := mallory.Create(ctx, project("ho-mine", onTier("single"), func(p *tenancyv1.Project) {
		p.Spec.Admins = []tenancyv1.Subject{{Name: "mallory-alt"}}
	})); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "ho-mine")

	// The slots that count her Projects are out of her reach.
	mustForbid(t, mallory.List(ctx, &coordinationv1.LeaseList{}, client.InNamespace(systemNamespace)))
	mySlot := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: slots.Name(slots.Key("mallory", "single"), 0)}}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(mySlot), mySlot); err != nil {
		t.Fatalf("no slot counts Mallory's Project: %v", err)
	}
	mustForbid(t, mallory.Delete(ctx, mySlot))

	// Straight to a made-up name, or to the victim: refused.
	for _, to := range []string{"nobody-at-all", "victim"} {
		mustDeny(t, update(ctx, mallory, "ho-mine", func(p *tenancyv1.Project) { p.Spec.Owner = to }), "hands a Project over by offering it")
	}
	// An offer to a made-up name frees nothing: the Project still counts.
	if err := update(ctx, mallory, "ho-mine", func(p *tenancyv1.Project) { p.Spec.HandOverTo = "nobody-at-all" }); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, mallory.Create(ctx, project("ho-second", onTier("single"))), "mallory already owns 1")

	// An offer to the victim does not touch the victim's own count.
	if err := update(ctx, mallory, "ho-mine", func(p *tenancyv1.Project) { p.Spec.HandOverTo = "victim" }); err != nil {
		t.Fatal(err)
	}
	if err := victim.Create(ctx, project("ho-victims-own", onTier("single"))); err != nil {
		t.Fatalf("an offer the victim never accepted used up the victim's limit: %v", err)
	}
	// The victim, now at the limit, cannot accept, and may do nothing else
	// with the Project than accept or decline.
	err := testenv.Eventually(ctx, wait, func() error {
		return victim.Get(ctx, client.ObjectKey{Name: "ho-mine"}, &tenancyv1.Project{})
	})
	if err != nil {
		t.Fatalf("the recipient cannot read the Project offered: %v", err)
	}
	mustDeny(t, update(ctx, victim, "ho-mine", func(p *tenancyv1.Project) { p.Spec.Owner = "victim" }), "victim already owns 1")
	mustDeny(t, update(ctx, victim, "ho-mine", func(p *tenancyv1.Project) { p.Spec.Description = "mine now" }), "is offered to you", "change nothing else")
	mustDeny(t, update(ctx, victim, "ho-mine", func(p *tenancyv1.Project) {
		p.Spec.Admins = append(p.Spec.Admins, tenancyv1.Subject{Name: "victim"})
	}), "is offered to you")
	if err := victim.Delete(ctx, project("ho-mine")); !apierrors.IsForbidden(err) {
		t.Fatalf("the recipient deleted the Project offered: %v", err)
	}
	// The victim declines; the Project stays Mallory's.
	if err := update(ctx, victim, "ho-mine", func(p *tenancyv1.Project) { p.Spec.HandOverTo = "" }); err != nil {
		t.Fatalf("the recipient cannot decline: %v", err)
	}
	err = testenv.Eventually(ctx, wait, func() error {
		err := victim.Get(ctx, client.ObjectKey{Name: "ho-mine"}, &tenancyv1.Project{})
		if !apierrors.IsForbidden(err) {
			return fmt.Errorf("after declining, the recipient still reads the Project: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A real hand-over: offered, accepted by a user with room. The count
	// moves: Mallory may create again, her accomplice may not.
	accomplice := as(t, "mallory-accomplice")
	if err := update(ctx, mallory, "ho-mine", func(p *tenancyv1.Project) { p.Spec.HandOverTo = "mallory-accomplice" }); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, wait, func() error {
		return update(ctx, accomplice, "ho-mine", func(p *tenancyv1.Project) { p.Spec.Owner = "mallory-accomplice" })
	})
	if err != nil {
		t.Fatalf("accepting: %v", err)
	}
	if err := testenv.Eventually(ctx, wait, func() error { return mallory.Create(ctx, project("ho-after", onTier("single"))) }); err != nil {
		t.Fatalf("after handing over her only Project, Mallory cannot create one: %v", err)
	}
	mustDeny(t, accomplice.Create(ctx, project("ho-second", onTier("single"))), "mallory-accomplice already owns 1")
	// The old owner's slot is released by the operator, not kept for good.
	err = testenv.Eventually(ctx, wait, func() error {
		var list coordinationv1.LeaseList
		if err := env.Client.List(ctx, &list, client.InNamespace(systemNamespace), client.MatchingLabels{slots.KeyLabel: slots.Key("mallory", "single")}); err != nil {
			return err
		}
		for _, s := range list.Items {
			if s.Annotations[slots.ProjectAnnotation] == "ho-mine" {
				return fmt.Errorf("Mallory's slot for the Project she handed over is still there")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A tenant's ServiceAccounts (all in system:authenticated, as many as the
// tenant likes) used to create Projects each, with the tenant as admin.
func TestAttackServiceAccountsCreateProjects(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "sa-home", "sa-made")
	owner := as(t, "sa-tenant")
	if err := owner.Create(ctx, project("sa-home")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "sa-home")
	// The tenant, as admin of its namespace, makes a ServiceAccount.
	err := testenv.Eventually(ctx, wait, func() error {
		return owner.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "minion", Namespace: "sa-home"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := env.ServiceAccountKubeConfig("sa-home", "minion")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	minion, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	mustDeny(t, minion.Create(ctx, project("sa-made", func(p *tenancyv1.Project) {
		p.Spec.Admins = []tenancyv1.Subject{{Name: "sa-tenant"}}
	})), "system:serviceaccount:sa-home:minion is not a person")
	mustDeny(t, minion.Create(ctx, project("sa-made", func(p *tenancyv1.Project) { p.Spec.Owner = "sa-tenant" })), "is not a person")
}

// A tenant names its Project like a platform namespace that tiers admit
// traffic from, hoping every isolated tenant lets its pods in.
func TestAttackSquatPlatformNamespace(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	// The names the standard tier admits traffic from are reserved.
	for _, name := range []string{"ingress-nginx", "openshift-ingress", "monitoring"} {
		mustDeny(t, as(t, "squatter").Create(ctx, project(name)), fmt.Sprintf("Project name %q is reserved for the platform", name))
	}
	mustDeny(t, as(t, "squatter").Create(ctx, project("monitoring")), "tier standard admits traffic from the namespace of that name")

	// A tenant who took a name before an admin listed it in a tier still
	// gets no traffic through: the isolation never admits tenant
	// namespaces, by name or by selector.
	cleanup(t, "squat-early", "squat-victim")
	if err := as(t, "squatter").Create(ctx, project("squat-early")); err != nil {
		t.Fatal(err)
	}
	platform := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "squat-platform", Labels: map[string]string{"platform": "yes"}}}
	if err := env.Client.Create(ctx, platform); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, platform) })
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: "squat"},
		Spec: tenancyv1.ProjectTierSpec{SelfService: true, NetworkPolicy: tenancyv1.TierNetworkPolicy{
			AllowFromNamespaces: []string{"squat-early", "squat-platform"},
			// A selector that tenant namespaces match too (every namespace
			// has its name label).
			AllowFromNamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpExists,
			}}},
		}},
	}
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = warnings
	warned, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := warned.Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tier) })
	if !warnings.contains("namespace squat-early belongs to Project squat-early") {
		t.Errorf("no warning that the tier names a tenant's namespace; warnings: %q", warnings.all())
	}
	if err := as(t, "victim-tenant").Create(ctx, project("squat-victim", onTier("squat"))); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "squat-victim")
	np := &networkingv1.NetworkPolicy{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "squat-victim", Name: controllers.NetworkPolicyName}, np); err != nil {
		t.Fatal(err)
	}
	squatter := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "squat-early"}, squatter); err != nil {
		t.Fatal(err)
	}
	if peer := admittingPeer(t, np, squatter); peer != "" {
		t.Errorf("the victim's NetworkPolicy admits the squatter's namespace through %s", peer)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "squat-platform"}, platform); err != nil {
		t.Fatal(err)
	}
	if admittingPeer(t, np, platform) == "" {
		t.Errorf("the victim's NetworkPolicy does not admit the platform namespace the tier names")
	}
	// Tenants cannot take the label off their namespace.
	mustForbid(t, as(t, "squatter").Update(ctx, squatter))
}

// warningRecorder keeps the warnings the API server returns.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningRecorder) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}

func (w *warningRecorder) contains(fragment string) bool {
	return slices.ContainsFunc(w.all(), func(m string) bool { return strings.Contains(m, fragment) })
}

// admittingPeer names the namespace peer of np that would admit traffic
// from pods of ns, or "".
func admittingPeer(t *testing.T, np *networkingv1.NetworkPolicy, ns *corev1.Namespace) string {
	t.Helper()
	for i, rule := range np.Spec.Ingress {
		for j, peer := range rule.From {
			if peer.NamespaceSelector == nil || peer.IPBlock != nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			if err != nil {
				t.Fatal(err)
			}
			if sel.Matches(labels.Set(ns.Labels)) {
				return fmt.Sprintf("ingress[%d].from[%d] (%s)", i, j, sel)
			}
		}
	}
	return ""
}

func mustForbid(t *testing.T, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("expected Forbidden, got %v", err)
	}
}

// A user whose only right in a namespace is to create RoleBindings used to
// adopt it through a Project, become its admin, read its Secrets and delete
// it by deleting the Project.
func TestAttackAdoptionAmplifiesRights(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	for _, n := range []string{"adopt-rb-only", "adopt-no-delete", "adopt-full"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}
		if err := env.Client.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "crown-jewels", Namespace: n}, StringData: map[string]string{"k": "v"}}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	cleanup(t, "adopt-rb-only", "adopt-no-delete", "adopt-full")
	t.Cleanup(func() {
		for _, n := range []string{"adopt-rb-only", "adopt-no-delete"} {
			_ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
	})
	// Only "create rolebindings" there.
	rbOnly := []client.Object{
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "rb-creator", Namespace: "adopt-rb-only"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings"}, Verbs: []string{"create"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "rb-creator", Namespace: "adopt-rb-only"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "rb-creator"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "adopter"}}},
		// Admin there, but may not delete the namespace.
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "admin", Namespace: "adopt-no-delete"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "adopter"}}},
	}
	for _, o := range rbOnly {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	grantNamespaceAdmin(t, "adopt-full", "adopter")
	adopter := as(t, "adopter")
	mustDeny(t, adopter.Create(ctx, project("adopt-rb-only")), "adopting it would give you (adopter) rights you do not hold there", "delete namespaces adopt-rb-only, create secrets")
	mustDeny(t, adopter.Create(ctx, project("adopt-no-delete")), "delete namespaces adopt-no-delete")
	if err := adopter.Get(ctx, client.ObjectKey{Namespace: "adopt-rb-only", Name: "crown-jewels"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the adopter reads the Secret after all: %v", err)
	}
	for _, n := range []string{"adopt-rb-only", "adopt-no-delete"} {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: n}, &tenancyv1.Project{}); !apierrors.IsNotFound(err) {
			t.Fatalf("Project %s exists: %v", n, err)
		}
	}
	// A full admin of the namespace may adopt it.
	if err := adopter.Create(ctx, project("adopt-full")); err != nil {
		t.Fatalf("a full admin cannot adopt: %v", err)
	}
	waitReady(t, "adopt-full")
}

// Ten concurrent claims of the volumes operator's StorageClass, by the
// Project's owner, in a namespace whose tier allows 2 volumes and 10 GiB:
// the API server's quota admission counts atomically, so at most 2 are
// admitted and together they never request more than 10 GiB. The volumes
// operator creates a volume's claim before its Cinder volume, so this is
// the bound on what a tenant gets from Cinder, however it races.
func TestAttackConcurrentClaimsPastTheStorageQuota(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	const attempts = 10
	storageTier(t, "disks-race", &tenancyv1.TierStorage{Gigabytes: ptr.To[int32](10), Volumes: ptr.To[int32](2)})
	cleanup(t, "claim-race")
	owner := as(t, "claim-racer")
	if err := owner.Create(ctx, project("claim-race", onTier("disks-race"))); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "claim-race")
	limit := resource.MustParse("10Gi")
	waitStorageQuota(t, "claim-race", corev1.ResourceList{storageGiB: limit, storageClaims: resource.MustParse("2")}, true)
	// The owner's RoleBinding reaches the API server's authorizer through
	// a watch: wait until the owner may create claims at all.
	probe := storageClaim("probe", 1)
	if err := testenv.Eventually(ctx, wait, func() error { return owner.Create(ctx, probe, client.DryRunAll) }); err != nil {
		t.Fatalf("the owner cannot create claims: %v", err)
	}

	var mu sync.Mutex
	var admitted []*corev1.PersistentVolumeClaim
	var wg sync.WaitGroup
	for i := range attempts {
		// 3 to 7 GiB: the count and the GiB both bind, depending on
		// which claims come first.
		pvc := storageClaim(fmt.Sprintf("data-%d", i), 3+i%5)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := owner.Create(ctx, pvc)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				admitted = append(admitted, pvc)
			case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: "+controllers.StorageQuotaName):
			default:
				t.Errorf("create %s: unexpected error %v", pvc.Name, err)
			}
		}()
	}
	wg.Wait()
	total := resource.Quantity{}
	var names []string
	for _, pvc := range admitted {
		total.Add(pvc.Spec.Resources.Requests[corev1.ResourceStorage])
		names = append(names, pvc.Name)
	}
	if len(admitted) > 2 || total.Cmp(limit) > 0 {
		t.Fatalf("%d of %d concurrent claims admitted (%v), %s requested in all; the tier allows 2 and 10Gi", len(admitted), attempts, names, total.String())
	}
	t.Logf("%d of %d concurrent claims admitted (%v), %s in all", len(admitted), attempts, names, total.String())
	if len(admitted) == 0 {
		t.Fatal("no claim admitted at all: the quota refuses what it should count")
	}
	// What the API server stored says the same.
	var stored corev1.PersistentVolumeClaimList
	if err := env.Client.List(ctx, &stored, client.InNamespace("claim-race")); err != nil {
		t.Fatal(err)
	}
	if len(stored.Items) != len(admitted) {
		t.Fatalf("%d claims stored, %d admitted", len(stored.Items), len(admitted))
	}
}

// storageClaim is a claim of the volumes operator's StorageClass, as a
// tenant could write it by hand.
func storageClaim(name string, gib int) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "claim-race"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(storagev1.StorageClassName),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse(fmt.Sprintf("%dGi", gib)),
			}},
		},
	}
}

// A tenant writes large annotations and labels on what the operator owns
// in their namespace, on objects of their own that carry the project
// label, and on their Project: the operator still repairs its own fields,
// leaves the tenant's alone, and keeps none of it in memory.
func TestAttackGrowTheOperatorsMemory(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	cleanup(t, "mike")
	owner := as(t, "tenant-m")
	if err := owner.Create(ctx, project("mike")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "mike")
	big := strings.Repeat("m", 200_000)

	// The operator's NetworkPolicy: opened up, with a large annotation.
	key := client.ObjectKey{Namespace: "mike", Name: controllers.NetworkPolicyName}
	np := &networkingv1.NetworkPolicy{}
	if err := owner.Get(ctx, key, np); err != nil {
		t.Fatal(err)
	}
	np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
	np.Annotations = map[string]string{"tenant.example/blob": big}
	np.Labels["tenant.example/label"] = strings.Repeat("l", 63)
	if err := owner.Update(ctx, np); err != nil {
		t.Fatal(err)
	}
	// An object of their own with the project label.
	own := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "mike",
			Labels:      map[string]string{tenancyv1.ProjectLabel: "mike"},
			Annotations: map[string]string{"tenant.example/blob": big}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "tenant-m"}},
	}
	if err := owner.Create(ctx, own); err != nil {
		t.Fatal(err)
	}
	// Their Project.
	if err := update(ctx, owner, "mike", func(p *tenancyv1.Project) {
		p.Annotations = map[string]string{"tenant.example/blob": big}
	}); err != nil {
		t.Fatal(err)
	}

	// Drift repaired, the tenant's own fields kept.
	waitPolicyClosed(ctx, t, key, np)
	if np.Annotations["tenant.example/blob"] != big || np.Labels["tenant.example/label"] == "" {
		t.Fatal("the tenant's own annotation or label was removed")
	}

	// What the operator keeps: none of it.
	small := func(obj client.Object) error {
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		if len(b) > 4096 {
			return fmt.Errorf("the operator caches %d bytes of %T %s", len(b), obj, obj.GetName())
		}
		return nil
	}
	err := testenv.Eventually(ctx, wait, func() error {
		cachedNP, cachedOwn, cachedProject := &networkingv1.NetworkPolicy{}, &rbacv1.RoleBinding{}, &tenancyv1.Project{}
		if err := operatorCache.Get(ctx, key, cachedNP); err != nil {
			return err
		}
		if err := operatorCache.Get(ctx, client.ObjectKeyFromObject(own), cachedOwn); err != nil {
			return err
		}
		if err := operatorCache.Get(ctx, client.ObjectKey{Name: "mike"}, cachedProject); err != nil {
			return err
		}
		if _, ok := cachedProject.Annotations["tenant.example/blob"]; ok {
			return fmt.Errorf("the operator caches the Project's annotation")
		}
		for _, obj := range []client.Object{cachedNP, cachedOwn, cachedProject} {
			if err := small(obj); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
