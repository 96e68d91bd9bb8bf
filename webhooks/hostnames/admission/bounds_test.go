package admission_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// One Ingress with thousands of hostnames used to run the webhook past the
// API server's timeout after writing hundreds of claims, which stayed held
// for the grace period. The count is checked before anything is written.
func TestAttackOneObjectWithThousandsOfHostnames(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	namespace(t, a, "flood", nil)
	hosts := make([]string, 3000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.flood.example", i)
	}
	mustDeny(t, a.client().Create(ctx, ingress("flood", "many", hosts...)), "the object has 3000 hostnames", "the most one object may have is 100")
	for _, h := range []string{hosts[0], hosts[99], hosts[2999]} {
		if _, err := claim(t, h); !apierrors.IsNotFound(err) {
			t.Errorf("claim for %s after a refused object: %v", h, err)
		}
	}
	// At the bound it is admitted.
	if err := a.client().Create(ctx, ingress("flood", "hundred", hosts[:100]...)); err != nil {
		t.Fatal(err)
	}
}

// An object refused for one of its hostnames holds none of the others: the
// claims its admission created are undone at once, not after the grace
// period.
func TestRefusedObjectLeavesNoClaims(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "undo-a", nil)
	namespace(t, b, "undo-b", nil)
	if err := b.client().Create(ctx, ingress("undo-b", "site", "taken.undo.example")); err != nil {
		t.Fatal(err)
	}
	free := []string{"free-1.undo.example", "free-2.undo.example", "free-3.undo.example"}
	mustDeny(t, a.client().Create(ctx, ingress("undo-a", "greedy", append(free, "taken.undo.example")...)), "taken.undo.example is already in use")
	for _, h := range free {
		if _, err := claim(t, h); !apierrors.IsNotFound(err) {
			t.Errorf("claim for %s left by a refused object: %v", h, err)
		}
	}
	// The names are free for anybody at once.
	if err := b.client().Create(ctx, ingress("undo-b", "other", free...)); err != nil {
		t.Fatalf("the refused object's hostnames are still held: %v", err)
	}
}

// Parts of objects that serve hostnames they do not name used to pass with
// no claim at all: in a Project's namespace they are refused, outside one
// (the platform's own ingress default backend, say) they are not.
func TestAttackCatchAllsInAProject(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	projectNamespace(t, a, "catchy", "standard")
	namespace(t, a, "platform-ingress", nil)
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
	ruleWithoutHost := func(ns string) client.Object {
		ing := ingress(ns, "no-host", "ok.web.atrium.test")
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend}},
		}}})
		return ing
	}
	defaultBackend := func(ns string) client.Object {
		ing := ingress(ns, "default-backend")
		ing.Spec.DefaultBackend = &backend
		return ing
	}
	routeWithoutHostnames := func(ns string) client.Object {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
			"spec": map[string]any{"parentRefs": []any{map[string]any{"name": "shared"}}}}}
		u.SetNamespace(ns)
		u.SetName("no-hostnames")
		return u
	}
	subdomainRoute := func(ns string) client.Object {
		u := route(ns, "subdomain", "")
		u.Object["spec"] = map[string]any{"subdomain": "shop"}
		return u
	}
	nsRecord := func(ns string) client.Object {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
			"spec": map[string]any{"endpoints": []any{
				map[string]any{"dnsName": "delegated.catchy.web.atrium.test", "recordType": "NS", "targets": []any{"ns1.elsewhere.example"}},
			}}}}
		u.SetNamespace(ns)
		u.SetName("delegation")
		return u
	}
	for _, tc := range []struct {
		name string
		obj  func(ns string) client.Object
		want string
	}{
		{"DNSEndpoint with an NS record", nsRecord, "spec.endpoints[0] asks for a NS record"},
		{"Ingress rule without a host", ruleWithoutHost, "spec.rules[1] has no host"},
		{"Ingress with only a default backend", defaultBackend, "spec.defaultBackend serves every hostname"},
		{"HTTPRoute without hostnames", routeWithoutHostnames, "every hostname of its parent Gateways' listeners"},
		{"Route with spec.subdomain", subdomainRoute, "spec.subdomain leaves the hostname to the router shard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testenv.Eventually(ctx, 10*time.Second, func() error {
				err := a.client().Create(ctx, tc.obj("catchy"))
				if err == nil {
					return fmt.Errorf("admitted in a Project's namespace")
				}
				if !strings.Contains(err.Error(), tc.want) {
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			mustDeny(t, a.client().Create(ctx, tc.obj("catchy")), tc.want)
			if err := a.client().Create(ctx, tc.obj("platform-ingress")); err != nil {
				t.Fatalf("outside Projects: %v", err)
			}
		})
	}
}

// A tenant on the standard tier used to claim a wildcard over the tenants'
// whole shared zone (and its apex), taking every unclaimed name of it,
// names of sites just deleted included.
func TestAttackWildcardOverTheSharedDomain(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	projectNamespace(t, a, "wildy", "standard")
	err := testenv.Eventually(ctx, 10*time.Second, func() error {
		err := a.client().Create(ctx, ingress("wildy", "zone", "*.web.atrium.test"))
		if err == nil || !strings.Contains(err.Error(), "a domain all Projects of tier") {
			return fmt.Errorf("wildcard over the shared domain: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustDeny(t, a.client().Create(ctx, ingress("wildy", "zone", "*.web.atrium.test")), "would take every unclaimed name of web.atrium.test", "such as *.wildy.web.atrium.test")
	mustDeny(t, a.client().Create(ctx, ingress("wildy", "apex", "web.atrium.test")), "is the domain all Projects of tier \"standard\" share", "such as www.wildy.web.atrium.test")
	// Spelled otherwise, in a kind whose schema lets it through.
	mustDeny(t, a.client().Create(ctx, route("wildy", "apex-dot", "WEB.atrium.test.")), "is the domain all Projects")
	for _, h := range []string{"*.web.atrium.test", "web.atrium.test"} {
		if _, err := claim(t, h); !apierrors.IsNotFound(err) {
			t.Errorf("claim for %s: %v", h, err)
		}
	}
	// A wildcard under another Project's name would take that Project's
	// names before it uses them: refused.
	mustDeny(t, a.client().Create(ctx, ingress("wildy", "theirs", "*.someone-else.web.atrium.test")), "is not under wildy.web.atrium.test", "under its own name")
	mustDeny(t, a.client().Create(ctx, ingress("wildy", "theirs", "*.x.someone-else.web.atrium.test")), "is not under wildy.web.atrium.test")
	// A wildcard under a name of its own is fine.
	if err := a.client().Create(ctx, ingress("wildy", "own", "*.wildy.web.atrium.test", "*.api.wildy.web.atrium.test")); err != nil {
		t.Fatal(err)
	}
}

// A name under another holder's wildcard, and a wildcard over names others
// hold, used to be admitted: the wildcard would serve the other's names.
func TestAttackOverlapAcrossHolders(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "over-a", nil)
	namespace(t, a, "over-a2", nil)
	namespace(t, b, "over-b", nil)
	if err := a.client().Create(ctx, ingress("over-a", "wild", "*.shop.over.example")); err != nil {
		t.Fatal(err)
	}
	// Under it, from another cluster, from another namespace, one level or
	// more below: refused.
	mustDeny(t, b.client().Create(ctx, ingress("over-b", "name", "www.shop.over.example")), "overlaps *.shop.over.example", "namespace over-a of cluster member-a")
	mustDeny(t, a.client().Create(ctx, ingress("over-a2", "name", "www.shop.over.example")), "overlaps *.shop.over.example")
	mustDeny(t, b.client().Create(ctx, ingress("over-b", "deep", "a.b.shop.over.example")), "overlaps")
	mustDeny(t, b.client().Create(ctx, ingress("over-b", "wider", "*.over.example")), "overlaps *.shop.over.example")
	mustDeny(t, b.client().Create(ctx, ingress("over-b", "narrower", "*.x.shop.over.example")), "overlaps *.shop.over.example")
	// The holder itself may add names under its wildcard; the domain
	// itself is not under it.
	if err := a.client().Create(ctx, ingress("over-a", "name", "www.shop.over.example", "*.x.shop.over.example")); err != nil {
		t.Fatal(err)
	}
	if err := b.client().Create(ctx, ingress("over-b", "apex", "shop.over.example")); err != nil {
		t.Fatal(err)
	}
	// A wildcard over a name another holder has is refused, and leaves no
	// claim behind.
	if err := b.client().Create(ctx, ingress("over-b", "site", "www.cafe.over.example")); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, a.client().Create(ctx, ingress("over-a", "cafe", "*.cafe.over.example")), "overlaps www.cafe.over.example", "namespace over-b of cluster member-b")
	if _, err := claim(t, "*.cafe.over.example"); !apierrors.IsNotFound(err) {
		t.Fatalf("the refused wildcard's claim: %v", err)
	}
	// A dry run says so too, and writes nothing.
	mustDeny(t, b.client().Create(ctx, ingress("over-b", "dry", "api.shop.over.example"), client.DryRunAll), "overlaps")
}

// A wildcard and a name under it asked for at the same moment from two
// clusters: every round exactly one of them wins.
func TestWildcardAndNameRaceFromTwoClusters(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "race-wild", nil)
	namespace(t, b, "race-name", nil)
	const rounds = 45
	winners := map[string]int{}
	for i := range rounds {
		domain := fmt.Sprintf("r%d.race.example", i)
		var wg sync.WaitGroup
		var errWild, errName error
		wg.Add(2)
		// Staggered by a few milliseconds, one way or the other, so that
		// each side is sometimes first and sometimes in the middle of the
		// other's checks.
		stagger := []time.Duration{-40, -15, -5, -2, 0, 2, 5, 15, 40}[i%9] * time.Millisecond
		go func() {
			defer wg.Done()
			time.Sleep(max(stagger, 0))
			errWild = a.client().Create(ctx, ingress("race-wild", fmt.Sprintf("w%d", i), "*."+domain))
		}()
		go func() {
			defer wg.Done()
			time.Sleep(max(-stagger, 0))
			errName = b.client().Create(ctx, ingress("race-name", fmt.Sprintf("n%d", i), "www."+domain))
		}()
		wg.Wait()
		for _, err := range []error{errWild, errName} {
			if err != nil && !strings.Contains(err.Error(), "overlaps") {
				t.Fatalf("round %d: unexpected error %v", i, err)
			}
		}
		switch {
		case errWild == nil && errName == nil:
			t.Fatalf("round %d: both the wildcard and the name under it were admitted", i)
		case errWild != nil && errName != nil:
			t.Fatalf("round %d: neither was admitted: %v; %v", i, errWild, errName)
		case errWild == nil:
			winners["wildcard"]++
			if _, err := claim(t, "www."+domain); !apierrors.IsNotFound(err) {
				t.Fatalf("round %d: the losing name's claim: %v", i, err)
			}
		default:
			winners["name"]++
			if _, err := claim(t, "*."+domain); !apierrors.IsNotFound(err) {
				t.Fatalf("round %d: the losing wildcard's claim: %v", i, err)
			}
		}
	}
	t.Logf("winners over %d rounds: %v", rounds, winners)
}

// A Project holds no more hostnames than its tier allows, however many
// objects it spreads them over; reusing a hostname it holds costs nothing.
func TestHostnamesPerProjectAreBounded(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	tier := &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "counted"},
		Spec: tenancyv1.ProjectTierSpec{AllowedDomains: []string{"web.atrium.test"}, MaxHostnamesPerProject: ptr.To[int32](3)}}
	if err := a.client().Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	projectNamespace(t, a, "county", "counted")
	err := testenv.Eventually(ctx, 10*time.Second, func() error {
		return a.client().Create(ctx, ingress("county", "one", "a.county.web.atrium.test", "b.county.web.atrium.test"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.client().Create(ctx, ingress("county", "two", "a.county.web.atrium.test", "c.county.web.atrium.test")); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, 10*time.Second, func() error {
		err := a.client().Create(ctx, ingress("county", "three", "d.county.web.atrium.test"))
		if err == nil {
			return fmt.Errorf("a fourth hostname was admitted")
		}
		if !strings.Contains(err.Error(), "Project county holds 3 hostname(s) and this object would add 1; tier \"counted\" allows at most 3") {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claim(t, "d.county.web.atrium.test"); !apierrors.IsNotFound(err) {
		t.Fatalf("the refused hostname was claimed: %v", err)
	}
	if err := a.client().Create(ctx, ingress("county", "again", "b.county.web.atrium.test")); err != nil {
		t.Fatalf("reusing a held hostname: %v", err)
	}
}

// Namespaces outside Projects used to claim any hostname in any domain,
// names under the tenants' zone or another Project's subtree included. The
// fleet's domain policy at the hub now says which domains each cluster may
// claim in, and which namespaces outside Projects may claim there; a change
// reaches the webhooks without a restart.
func TestFleetDomainPolicy(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	pol := &fleetv1.DomainPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "net-domains"},
		Spec: fleetv1.DomainPolicySpec{
			Clusters: []string{"member-a"},
			Domains: []fleetv1.DomainGrant{
				{Domain: "platform.net", NamespacesOutsideProjects: []string{"open-ns"}},
				{Domain: "tenants.net"},
			},
		},
	}
	if err := hub.Client.Create(ctx, pol); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Client.Delete(context.Background(), pol) })
	tier := &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: "net"}, Spec: tenancyv1.ProjectTierSpec{AllowedDomains: []string{"tenants.net"}}}
	if err := a.client().Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	projectNamespace(t, a, "netproj", "net")
	namespace(t, a, "open-ns", nil)
	namespace(t, a, "closed-ns", nil)
	namespace(t, b, "open-ns", nil)

	// The grant reaches member-a's webhook through its cache of the hub.
	err := testenv.Eventually(ctx, 10*time.Second, func() error {
		return a.client().Create(ctx, ingress("open-ns", "platform", "www.platform.net"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.client().Create(ctx, ingress("netproj", "site", "www.netproj.tenants.net")); err != nil {
		t.Fatalf("a Project in a granted domain: %v", err)
	}
	// Outside a Project, only the namespaces named; another cluster, not
	// at all; a domain nobody granted, nobody.
	mustDeny(t, a.client().Create(ctx, ingress("closed-ns", "squat", "shop.tenants.net")), "namespace closed-ns belongs to no Project", "only Projects claim hostnames under tenants.net")
	mustDeny(t, a.client().Create(ctx, ingress("closed-ns", "squat", "api.platform.net")), "namespace closed-ns belongs to no Project")
	mustDeny(t, a.client().Create(ctx, ingress("closed-ns", "sub", "x.netproj.tenants.net")), "belongs to no Project")
	mustDeny(t, b.client().Create(ctx, ingress("open-ns", "platform", "api.platform.net")), "in no domain that the fleet's domain policy lets cluster member-b claim")
	mustDeny(t, a.client().Create(ctx, ingress("open-ns", "elsewhere", "www.other.net")), "in no domain", "allowed: ", "platform.net", "tenants.net")
	for _, h := range []string{"shop.tenants.net", "api.platform.net", "www.other.net"} {
		if _, err := claim(t, h); !apierrors.IsNotFound(err) {
			t.Errorf("claim for refused %s: %v", h, err)
		}
	}

	// The admins name closed-ns too: admitted, with no restart.
	pol.Spec.Domains[0].NamespacesOutsideProjects = []string{"open-ns", "closed-ns"}
	if err := hub.Client.Update(ctx, pol); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, 10*time.Second, func() error {
		return a.client().Create(ctx, ingress("closed-ns", "late", "api.platform.net"))
	})
	if err != nil {
		t.Fatalf("the policy change did not reach the webhook: %v", err)
	}
	// A member's identity cannot write the fleet's domain policy.
	hubAs := hubIdentity(t, "member-a")
	if err := hubAs.Create(ctx, &fleetv1.DomainPolicy{ObjectMeta: metav1.ObjectMeta{Name: "mine"},
		Spec: fleetv1.DomainPolicySpec{Domains: []fleetv1.DomainGrant{{Domain: "net", NamespacesOutsideProjects: []string{"*"}}}}}); !apierrors.IsForbidden(err) {
		t.Fatalf("a member's hub identity wrote a DomainPolicy: %v", err)
	}
}

// Gateway listener hostnames used to be no source at all: a tenant's
// Gateway serves its listeners' hostnames, so they are claimed like any
// other, and a listener without one is a catch-all. The platform's shared
// Gateways, outside Projects, claim nothing: tenants' routes attach to
// them with names of their own.
func TestGatewayListenersAreClaimed(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	for _, name := range []string{"gw-one", "gw-two"} {
		projectNamespace(t, a, name, "standard")
	}
	namespace(t, a, "shared-gateways", nil)
	gw := func(ns, name string, listeners ...map[string]any) *unstructured.Unstructured {
		ls := make([]any, 0, len(listeners))
		for _, l := range listeners {
			ls = append(ls, l)
		}
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
			"spec": map[string]any{"gatewayClassName": "shared", "listeners": ls}}}
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	listener := func(name, host string) map[string]any {
		l := map[string]any{"name": name, "protocol": "HTTPS", "port": int64(443)}
		if host != "" {
			l["hostname"] = host
		}
		return l
	}
	err := testenv.Eventually(ctx, 10*time.Second, func() error {
		return a.client().Create(ctx, gw("gw-one", "mine", listener("web", "*.gw-one.web.atrium.test")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := claim(t, "*.gw-one.web.atrium.test"); err != nil || c.Spec.Namespace != "gw-one" {
		t.Fatalf("the listener's hostname is not claimed for gw-one: %+v, %v", c, err)
	}
	// Another tenant can take neither the name nor one under it, by any kind.
	mustDeny(t, a.client().Create(ctx, gw("gw-two", "theirs", listener("web", "www.gw-one.web.atrium.test"))), "overlaps *.gw-one.web.atrium.test")
	mustDeny(t, a.client().Create(ctx, ingress("gw-two", "theirs", "api.gw-one.web.atrium.test")), "overlaps")
	mustDeny(t, a.client().Create(ctx, gw("gw-two", "all", listener("all", ""))), "spec.listeners[0] (all) has no hostname")
	// The platform's shared Gateway claims nothing, so tenants' names under
	// its listener stay theirs to claim.
	if err := a.client().Create(ctx, gw("shared-gateways", "shared", listener("tenants", "*.web.atrium.test"), listener("any", ""))); err != nil {
		t.Fatalf("the platform's Gateway: %v", err)
	}
	if _, err := claim(t, "*.web.atrium.test"); !apierrors.IsNotFound(err) {
		t.Fatalf("the platform's Gateway claimed its listener: %v", err)
	}
	if err := a.client().Create(ctx, ingress("gw-two", "site", "www.gw-two.web.atrium.test")); err != nil {
		t.Fatal(err)
	}
}

// A claim made before overlaps were checked carries none of the labels by
// which a wildcard's admission finds the claims beneath it; the releaser
// gives them to its cluster's claims, so an old name is protected too.
func TestClaimsMadeBeforeOverlapChecksAreFound(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "legacy-a", nil)
	namespace(t, b, "legacy-b", nil)
	if err := a.client().Create(ctx, ingress("legacy-a", "old", "www.legacy.example")); err != nil {
		t.Fatal(err)
	}
	// As an older version left it: no overlap labels.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c, err := claim(t, "www.legacy.example")
		if err != nil {
			return err
		}
		for k := range c.Labels {
			if strings.HasPrefix(k, fleetv1.UnderLabelPrefix) {
				delete(c.Labels, k)
			}
		}
		return hub.Client.Update(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, 20*time.Second, func() error {
		c, err := claim(t, "www.legacy.example")
		if err != nil {
			return err
		}
		for k := range c.Labels {
			if strings.HasPrefix(k, fleetv1.UnderLabelPrefix) {
				return nil
			}
		}
		return fmt.Errorf("the releaser has not labelled the old claim: %v", c.Labels)
	})
	if err != nil {
		t.Fatal(err)
	}
	mustDeny(t, b.client().Create(ctx, ingress("legacy-b", "wild", "*.legacy.example")), "overlaps www.legacy.example")
}
