package admission_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/testenv"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test fleet")
	}
}

func namespace(t *testing.T, m *member, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := m.client().Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// projectNamespace makes a Project on a tier and its namespace, labelled
// as the projects operator labels it (no operator runs in this suite).
func projectNamespace(t *testing.T, m *member, name, tier string) {
	t.Helper()
	p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1.ProjectSpec{Owner: "tenant-" + name, Tier: tier}}
	if err := m.client().Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	namespace(t, m, name, map[string]string{tenancyv1.ProjectLabel: name})
}

func ingress(ns, name string, hosts ...string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, h := range hosts {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
	}
	return ing
}

func claim(t *testing.T, host string) (*fleetv1.HostnameClaim, error) {
	t.Helper()
	h, err := hostname.Normalize(host, hostname.Options{AllowWildcard: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &fleetv1.HostnameClaim{}
	return c, hub.Client.Get(context.Background(), client.ObjectKey{Name: hostname.ClaimName(h)}, c)
}

func mustDeny(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a denial mentioning %q, got success", fragments)
	}
	if !apierrors.IsForbidden(err) {
		t.Fatalf("expected a denial, got %v", err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("denial %q does not mention %q", err, f)
		}
	}
}

func TestHostnameTakenInOneMemberIsRefusedInAnother(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "alpha", nil)
	namespace(t, b, "beta", nil)

	if err := a.client().Create(ctx, ingress("alpha", "site", "www.shared.example", "www.shared.example")); err != nil {
		t.Fatal(err)
	}
	c, err := claim(t, "www.shared.example")
	if err != nil {
		t.Fatalf("no claim at the hub: %v", err)
	}
	if c.Spec.Cluster != "member-a" || c.Spec.Namespace != "alpha" || len(c.Spec.Sources) != 1 || c.Spec.Sources[0].Name != "site" {
		t.Fatalf("claim %+v", c.Spec)
	}
	// The claims controller reports the claim as in use by a live object.
	err = testenv.Eventually(ctx, 30*time.Second, func() error {
		c, err := claim(t, "www.shared.example")
		if err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(c.Status.Conditions, "Ready") {
			return fmt.Errorf("claim status %+v", c.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	mustDeny(t, b.client().Create(ctx, ingress("beta", "copy", "www.shared.example")),
		"www.shared.example is already in use by namespace alpha of cluster member-a")
	// Another namespace of the same cluster is another tenant too.
	namespace(t, a, "alpha-2", nil)
	mustDeny(t, a.client().Create(ctx, ingress("alpha-2", "copy", "www.shared.example")), "namespace alpha of cluster member-a")

	// The same namespace may reuse its hostname (an ACME HTTP-01 solver).
	if err := a.client().Create(ctx, ingress("alpha", "cm-acme-http-solver", "www.shared.example")); err != nil {
		t.Fatalf("same namespace refused: %v", err)
	}
	if c, _ = claim(t, "www.shared.example"); len(c.Spec.Sources) != 2 {
		t.Fatalf("sources %+v", c.Spec.Sources)
	}
}

func TestReleaseAfterDelete(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "release-a", nil)
	namespace(t, b, "release-b", nil)
	ing := ingress("release-a", "site", "moving.example.org")
	if err := a.client().Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, b.client().Create(ctx, ingress("release-b", "site", "moving.example.org")), "release-a")
	if err := a.client().Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, 30*time.Second, func() error {
		return b.client().Create(ctx, ingress("release-b", "site", "moving.example.org"))
	})
	if err != nil {
		t.Fatalf("hostname never released: %v", err)
	}
	if c, err := claim(t, "moving.example.org"); err != nil || c.Spec.Cluster != "member-b" {
		t.Fatalf("claim after move: %+v, %v", c, err)
	}
}

func TestChangingAHostnameReleasesTheOldOne(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	namespace(t, a, "changer", nil)
	ing := ingress("changer", "site", "old.example.org")
	if err := a.client().Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	ing.Spec.Rules[0].Host = "new.example.org"
	if err := a.client().Update(ctx, ing); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, 30*time.Second, func() error {
		if _, err := claim(t, "old.example.org"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("old claim still there: %v", err)
		}
		_, err := claim(t, "new.example.org")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// route is an OpenShift Route; its CRD (like most) leaves hostnames to the
// webhook, where an Ingress's built-in validation would catch some first.
func route(ns, name, host string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"spec": map[string]any{"host": host},
	}}
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestHostnamesAreChecked(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "checks", nil)
	for _, tc := range []struct{ host, want string }{
		{"10.1.2.3", "IP address"},
		{"single", "single label"},
		{"bad_name.example.org", "letters, digits and hyphens"},
		{"ab--c.example.org", "reserved"},
		{"www..example.org", "empty"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			mustDeny(t, a.client().Create(ctx, route("checks", "x", tc.host)), tc.host, tc.want)
		})
	}
	// Case, trailing dot and Unicode are one hostname with its plain form.
	if err := a.client().Create(ctx, route("checks", "caps", "WWW.Bücher.Example.")); err != nil {
		t.Fatal(err)
	}
	if c, err := claim(t, "www.xn--bcher-kva.example"); err != nil || c.Spec.Hostname != "www.xn--bcher-kva.example" {
		t.Fatalf("claim %+v, %v", c, err)
	}
	namespace(t, b, "checks-b", nil)
	mustDeny(t, b.client().Create(ctx, ingress("checks-b", "same", "www.xn--bcher-kva.example")), "checks of cluster member-a")
}

func TestTierDomains(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	projectNamespace(t, a, "webby", "standard")
	err := testenv.Eventually(ctx, 10*time.Second, func() error {
		return a.client().Create(ctx, ingress("webby", "ok", "webby.web.atrium.test"))
	})
	if err != nil {
		t.Fatal(err)
	}
	mustDeny(t, a.client().Create(ctx, ingress("webby", "no", "webby.elsewhere.org")),
		"webby.elsewhere.org is not under a domain", `tier "standard"`, "allowed: web.atrium.test")
	if _, err := claim(t, "webby.elsewhere.org"); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused hostname was claimed: %v", err)
	}
}

func TestDryRunClaimsNothing(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "dry", nil)
	if err := a.client().Create(ctx, ingress("dry", "site", "dry.example.org"), client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	if _, err := claim(t, "dry.example.org"); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run claimed: %v", err)
	}
	// A dry run still says when a hostname is taken.
	namespace(t, b, "dry-b", nil)
	if err := b.client().Create(ctx, ingress("dry-b", "site", "dry-taken.example.org")); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, a.client().Create(ctx, ingress("dry", "site", "dry-taken.example.org"), client.DryRunAll), "member-b")
}

func TestOtherSourceKinds(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "kinds-a", nil)
	namespace(t, b, "kinds-b", nil)
	obj := func(apiVersion, kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "spec": spec}}
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	for _, tc := range []struct {
		name string
		mk   func(ns string) *unstructured.Unstructured
	}{
		{"HTTPRoute", func(ns string) *unstructured.Unstructured {
			return obj("gateway.networking.k8s.io/v1", "HTTPRoute", ns, "r", map[string]any{"hostnames": []any{"route.kinds.example"}})
		}},
		{"Route", func(ns string) *unstructured.Unstructured {
			return obj("route.openshift.io/v1", "Route", ns, "r", map[string]any{"host": "okd.kinds.example"})
		}},
		{"DNSEndpoint", func(ns string) *unstructured.Unstructured {
			return obj("externaldns.k8s.io/v1alpha1", "DNSEndpoint", ns, "r", map[string]any{"endpoints": []any{map[string]any{"dnsName": "dns.kinds.example"}}})
		}},
		{"GitLabPagesSite", func(ns string) *unstructured.Unstructured {
			return obj("pages.atrium.dev/v1alpha1", "GitLabPagesSite", ns, "r", map[string]any{"project": "physics/atlas-site", "hostname": "pages.kinds.example"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := a.client().Create(ctx, tc.mk("kinds-a")); err != nil {
				t.Fatal(err)
			}
			mustDeny(t, b.client().Create(ctx, tc.mk("kinds-b")), "kinds-a of cluster member-a")
		})
	}
}

func TestHubUnreachable(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	namespace(t, a, "cut", nil)
	ing := ingress("cut", "site", "before-the-cut.example.org")
	if err := a.client().Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	a.proxy.SetDown(true)
	defer a.proxy.SetDown(false)

	mustDeny(t, a.client().Create(ctx, ingress("cut", "new", "during-the-cut.example.org")), "cannot be reached", "try again later")
	// An update that keeps its hostnames is still admitted.
	if ing.Labels == nil {
		ing.Labels = map[string]string{}
	}
	ing.Labels["touched"] = "yes"
	if err := a.client().Update(ctx, ing); err != nil {
		t.Fatalf("update without hostname change refused while the hub is down: %v", err)
	}
	a.proxy.SetDown(false)
	err := testenv.Eventually(ctx, 30*time.Second, func() error {
		return a.client().Create(ctx, ingress("cut", "new", "during-the-cut.example.org"))
	})
	if err != nil {
		t.Fatalf("not admitted after the hub came back: %v", err)
	}
}

// TestRace: both members create the same 200 hostnames at once; each
// hostname has exactly one winner and exactly one claim, held by the winner.
func TestRace(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	const n = 200
	names := []string{"member-a", "member-b"}
	for _, m := range names {
		namespace(t, members[m], "race", nil)
	}
	won := make([][]bool, len(names))
	var wg sync.WaitGroup
	for i, m := range names {
		won[i] = make([]bool, n)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < n; j += 8 {
					err := members[m].client().Create(ctx, ingress("race", fmt.Sprintf("r%03d", j), fmt.Sprintf("race-%03d.example.org", j)))
					switch {
					case err == nil:
						won[i][j] = true
					case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "already in use"):
					default:
						t.Errorf("%s r%03d: %v", m, j, err)
					}
				}
			}()
		}
	}
	wg.Wait()
	for j := 0; j < n; j++ {
		winners := 0
		winner := ""
		for i, m := range names {
			if won[i][j] {
				winners++
				winner = m
			}
		}
		if winners != 1 {
			t.Errorf("race-%03d: %d winners", j, winners)
			continue
		}
		c, err := claim(t, fmt.Sprintf("race-%03d.example.org", j))
		if err != nil || c.Spec.Cluster != winner || c.Labels[fleetv1.ClusterLabel] != winner {
			t.Errorf("race-%03d: claim %+v, %v; winner %s", j, c, err, winner)
		}
	}
	var list fleetv1.HostnameClaimList
	if err := hub.Client.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, c := range list.Items {
		if strings.HasPrefix(c.Spec.Hostname, "race-") {
			count++
		}
	}
	if count != n {
		t.Fatalf("%d race claims at the hub, want %d", count, n)
	}
}

// TestUnpersistedReservationIsReleased: admission reserved a hostname for an
// object that never got persisted (a later webhook refused it); the claim
// goes after the grace period and the hostname is free again.
func TestUnpersistedReservationIsReleased(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	h, err := hostname.Normalize("ghost.example.org", hostname.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ghost := &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{Name: hostname.ClaimName(h), Labels: map[string]string{fleetv1.ClusterLabel: "member-a", fleetv1.NamespaceLabel: "ghost"}},
		Spec: fleetv1.HostnameClaimSpec{Hostname: h.Name, Cluster: "member-a", Namespace: "ghost", Sources: []fleetv1.SourceRef{{
			Group: "networking.k8s.io", Kind: "Ingress", Name: "never-persisted", UID: "11111111-2222-3333-4444-555555555555",
			ReservedAt: metav1.Now(),
		}}},
	}
	if err := hub.Client.Create(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	b := members["member-b"]
	namespace(t, b, "after-ghost", nil)
	mustDeny(t, b.client().Create(ctx, ingress("after-ghost", "site", "ghost.example.org")), "namespace ghost of cluster member-a")
	err = testenv.Eventually(ctx, 10*grace, func() error {
		return b.client().Create(ctx, ingress("after-ghost", "site", "ghost.example.org"))
	})
	if err != nil {
		t.Fatalf("the reservation was never released: %v", err)
	}
}
