package controllers

import (
	"errors"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/sources"
)

func obj(apiVersion, kind, ns, name string, spec, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	if status != nil {
		u.Object["status"] = status
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID("uid-" + name))
	return u
}

func kindOf(t *testing.T, u *unstructured.Unstructured) sources.Source {
	t.Helper()
	s, ok := sources.For(u.GroupVersionKind().GroupKind())
	if !ok {
		t.Fatalf("no source for %s", u.GroupVersionKind())
	}
	return s
}

// wantsSummary renders wants as "host type targets ttl" lines.
func wantsSummary(ws []Want) []string {
	var out []string
	for _, w := range ws {
		out = append(out, strings.TrimSpace(w.Host.Name+" "+w.Type+" "+strings.Join(w.Targets, ",")+" "+ttlString(w.TTL)))
	}
	return out
}

func ttlString(t endpoint.TTL) string {
	if t == 0 {
		return ""
	}
	return "ttl"
}

func TestWantsPerKind(t *testing.T) {
	defaults := []string{"192.0.2.100"}
	gateways := map[schema.GroupKind]map[string][]string{{Group: "gateway.networking.k8s.io", Kind: "Gateway"}: {"a/public": {"192.0.2.120", "gw.example.net"}, "infra/shared": {"2001:db8::80"}}}
	rules := []any{map[string]any{"host": "WWW.Example.test"}, map[string]any{"host": "api.example.test"}}
	tests := []struct {
		name     string
		obj      *unstructured.Unstructured
		want     []string
		problems []string
	}{{
		name: "ingress with a load balancer IP and hostname in its status",
		obj: obj("networking.k8s.io/v1", "Ingress", "a", "web", map[string]any{"rules": rules},
			map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "192.0.2.1"}, map[string]any{"hostname": "lb.example.net"}}}}),
		want: []string{"www.example.test  192.0.2.1,lb.example.net", "api.example.test  192.0.2.1,lb.example.net"},
	}, {
		name: "ingress without status uses the cluster's default",
		obj:  obj("networking.k8s.io/v1", "Ingress", "a", "web", map[string]any{"rules": rules[:1], "tls": []any{map[string]any{"hosts": []any{"www.example.test"}}}}, nil),
		want: []string{"www.example.test  192.0.2.100"},
	}, {
		name: "route with a router canonical hostname",
		obj: obj("route.openshift.io/v1", "Route", "a", "r", map[string]any{"host": "shop.example.test"},
			map[string]any{"ingress": []any{map[string]any{"routerCanonicalHostname": "router-default.apps.example.test"}}}),
		want: []string{"shop.example.test  router-default.apps.example.test"},
	}, {
		name: "route with a subdomain wildcard policy",
		obj:  obj("route.openshift.io/v1", "Route", "a", "r", map[string]any{"host": "x.shop.example.test", "wildcardPolicy": "Subdomain"}, nil),
		want: []string{"*.shop.example.test  192.0.2.100"},
	}, {
		name: "httproute without a known gateway uses the default",
		obj: obj("gateway.networking.k8s.io/v1", "HTTPRoute", "a", "h", map[string]any{"hostnames": []any{"gw.example.test"},
			"parentRefs": []any{map[string]any{"name": "missing"}, map[string]any{"name": "public", "kind": "Service"}}}, nil),
		want: []string{"gw.example.test  192.0.2.100"},
	}, {
		name: "httproute takes its parent gateways' addresses",
		obj: obj("gateway.networking.k8s.io/v1", "HTTPRoute", "a", "h", map[string]any{"hostnames": []any{"gw.example.test"},
			"parentRefs": []any{map[string]any{"name": "public"}, map[string]any{"name": "shared", "namespace": "infra", "group": "gateway.networking.k8s.io", "kind": "Gateway"}}}, nil),
		want: []string{"gw.example.test  192.0.2.120,gw.example.net,2001:db8::80"},
	}, {
		name: "dnsendpoint as given; unsupported types and bad names refused",
		obj: obj("externaldns.k8s.io/v1alpha1", "DNSEndpoint", "a", "d", map[string]any{"endpoints": []any{
			map[string]any{"dnsName": "mail.example.test", "recordType": "A", "targets": []any{"192.0.2.7"}, "recordTTL": int64(60)},
			map[string]any{"dnsName": "alias.example.test", "recordType": "cname", "targets": []any{"www.example.test"}},
			map[string]any{"dnsName": "example.test", "recordType": "MX", "targets": []any{"10 mail.example.test"}},
			map[string]any{"dnsName": "bad..example.test", "recordType": "A", "targets": []any{"192.0.2.8"}},
		}}, nil),
		want:     []string{"mail.example.test A 192.0.2.7 ttl", "alias.example.test CNAME www.example.test"},
		problems: []string{"UnsupportedRecordType", "InvalidHostname"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, ps := wantsOf(kindOf(t, tc.obj), tc.obj, Fronts{Defaults: defaults, Parents: gateways})
			if got := wantsSummary(ws); !slices.Equal(got, tc.want) {
				t.Errorf("wants = %q, want %q", got, tc.want)
			}
			var reasons []string
			for _, p := range ps {
				reasons = append(reasons, p.Reason)
			}
			if !slices.Equal(reasons, tc.problems) {
				t.Errorf("problems = %v, want %v", reasons, tc.problems)
			}
		})
	}
}

func TestObjectBeingDeletedWantsNothing(t *testing.T) {
	u := obj("networking.k8s.io/v1", "Ingress", "a", "web", map[string]any{"rules": []any{map[string]any{"host": "www.example.test"}}}, nil)
	now := metav1.Now()
	u.SetDeletionTimestamp(&now)
	if ws, _ := wantsOf(kindOf(t, u), u, Fronts{Defaults: []string{"192.0.2.1"}}); len(ws) != 0 {
		t.Fatalf("wants = %v", ws)
	}
}

func TestTypeOf(t *testing.T) {
	for target, want := range map[string]string{
		"192.0.2.1": "A", "2001:db8::1": "AAAA", "::ffff:192.0.2.1": "A", "lb.example.net": "CNAME", "lb.example.net.": "CNAME",
	} {
		if got := typeOf(target); got != want {
			t.Errorf("typeOf(%q) = %s, want %s", target, got, want)
		}
	}
}

func want(host, ns, name string, targets ...string) Want {
	h, err := hostname.Normalize(host, hostname.Options{AllowWildcard: true})
	if err != nil {
		panic(err)
	}
	return Want{Host: h, Source: Ref{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: ns, Name: name}, Targets: targets}
}

func claim(host, cluster, ns string) *fleetv1.HostnameClaim {
	h, _ := hostname.Normalize(host, hostname.Options{AllowWildcard: true})
	return &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{Name: hostname.ClaimName(h)},
		Spec:       fleetv1.HostnameClaimSpec{Hostname: h.Name, Cluster: cluster, Namespace: ns},
	}
}

func claimsOf(cs ...*fleetv1.HostnameClaim) map[string]*fleetv1.HostnameClaim {
	out := map[string]*fleetv1.HostnameClaim{}
	for _, c := range cs {
		out[c.Name] = c
	}
	return out
}

// records renders endpoints as "name TYPE targets" lines.
func records(eps []*endpoint.Endpoint) []string {
	var out []string
	for _, ep := range eps {
		out = append(out, ep.DNSName+" "+ep.RecordType+" "+strings.Join(ep.Targets, ","))
	}
	return out
}

func TestDecide(t *testing.T) {
	opts := Options{Cluster: "c1", TTL: 300, InZones: inZones([]string{"example.test."})}
	tests := []struct {
		name      string
		wants     []Want
		claims    map[string]*fleetv1.HostnameClaim
		published map[string][]string // host -> records, or -> reason
		problems  []string            // "ns/name reason"
	}{{
		name:      "held hostname is published",
		wants:     []Want{want("www.example.test", "a", "web", "192.0.2.1")},
		claims:    claimsOf(claim("www.example.test", "c1", "a")),
		published: map[string][]string{"www.example.test": {"www.example.test A 192.0.2.1"}},
	}, {
		name:     "no claim: nothing published, the object is told",
		wants:    []Want{want("www.example.test", "a", "web", "192.0.2.1")},
		claims:   claimsOf(),
		problems: []string{"a/web NotClaimed"},
	}, {
		name:      "claimed by another namespace of this cluster: only the holder publishes",
		wants:     []Want{want("www.example.test", "a", "web", "192.0.2.1"), want("www.example.test", "b", "copy", "192.0.2.9")},
		claims:    claimsOf(claim("www.example.test", "c1", "a")),
		published: map[string][]string{"www.example.test": {"www.example.test A 192.0.2.1"}},
		problems:  []string{"b/copy NotClaimed"},
	}, {
		name:  "a tentative wildcard claim (its admission still checks for overlaps) holds nothing yet",
		wants: []Want{want("*.example.test", "a", "web", "192.0.2.1")},
		claims: func() map[string]*fleetv1.HostnameClaim {
			c := claim("*.example.test", "c1", "a")
			c.Labels = map[string]string{fleetv1.TentativeLabel: "true"}
			return claimsOf(c)
		}(),
		problems: []string{"a/web NotClaimed"},
	}, {
		name:     "claim of another cluster (stale cache) is not ours",
		wants:    []Want{want("www.example.test", "a", "web", "192.0.2.1")},
		claims:   claimsOf(claim("www.example.test", "c2", "a")),
		problems: []string{"a/web NotClaimed"},
	}, {
		name:      "targets of every object of the namespace merge; addresses win over names",
		wants:     []Want{want("www.example.test", "a", "web", "192.0.2.2", "lb.example.net"), want("www.example.test", "a", "web2", "192.0.2.1", "2001:db8::1")},
		claims:    claimsOf(claim("www.example.test", "c1", "a")),
		published: map[string][]string{"www.example.test": {"www.example.test A 192.0.2.1,192.0.2.2", "www.example.test AAAA 2001:db8::1"}},
	}, {
		name:      "several names: one CNAME, the first",
		wants:     []Want{want("www.example.test", "a", "web", "lb2.example.net."), want("www.example.test", "a", "web2", "lb1.example.net")},
		claims:    claimsOf(claim("www.example.test", "c1", "a")),
		published: map[string][]string{"www.example.test": {"www.example.test CNAME lb1.example.net"}},
	}, {
		name:      "no target",
		wants:     []Want{want("www.example.test", "a", "web")},
		claims:    claimsOf(claim("www.example.test", "c1", "a")),
		published: map[string][]string{"www.example.test": {"NoTarget"}},
	}, {
		name:      "outside the zones",
		wants:     []Want{want("www.elsewhere.test", "a", "web", "192.0.2.1")},
		claims:    claimsOf(claim("www.elsewhere.test", "c1", "a")),
		published: map[string][]string{"www.elsewhere.test": {"OutsideZones"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			published, problems := decide(tc.wants, tc.claims, opts)
			got := map[string][]string{}
			for _, p := range published {
				if p.Reason != "" {
					got[p.Host] = []string{p.Reason}
				} else {
					got[p.Host] = records(p.Endpoints)
				}
				if p.Claim == nil {
					t.Errorf("%s published without a claim", p.Host)
				}
			}
			if len(got) != len(tc.published) {
				t.Errorf("published = %v, want %v", got, tc.published)
			}
			for h, w := range tc.published {
				if !slices.Equal(got[h], w) {
					t.Errorf("%s: %v, want %v", h, got[h], w)
				}
			}
			var ps []string
			for _, p := range problems {
				ps = append(ps, p.Source.Namespace+"/"+p.Source.Name+" "+p.Reason)
			}
			if !slices.Equal(ps, tc.problems) {
				t.Errorf("problems = %v, want %v", ps, tc.problems)
			}
		})
	}
}

func owned(name, typ, owner string, targets ...string) *endpoint.Endpoint {
	ep := endpoint.NewEndpoint(name, typ, targets...)
	if owner != "" {
		ep.Labels[endpoint.OwnerLabelKey] = owner
	}
	return ep
}

func TestOutcomes(t *testing.T) {
	pub := func(host string, eps ...*endpoint.Endpoint) Published {
		return Published{Host: host, Claim: claim(host, "c1", "a"), Endpoints: eps}
	}
	published := []Published{
		pub("mine.example.test", owned("mine.example.test", "A", "", "192.0.2.1")),
		pub("theirs.example.test", owned("theirs.example.test", "A", "", "192.0.2.1")),
		pub("byhand.example.test", owned("byhand.example.test", "A", "", "192.0.2.1")),
		pub("new.example.test", owned("new.example.test", "A", "", "192.0.2.1")),
		{Host: "none.example.test", Claim: claim("none.example.test", "c1", "a"), Reason: "NoTarget", Message: "no address"},
	}
	current := []*endpoint.Endpoint{
		owned("mine.example.test", "A", "c1", "192.0.2.1"),
		owned("theirs.example.test", "A", "c2", "192.0.2.50"),
		owned("byhand.example.test", "CNAME", "", "elsewhere.example.net"),
		owned("new.example.test", "TXT", "", "unrelated"),
	}
	changes := &plan.Changes{Create: []*endpoint.Endpoint{owned("new.example.test", "A", "", "192.0.2.1")}}

	reasons := func(failed map[string]error) (map[string]string, int) {
		out, conflicts := outcomesOf(published, current, changes, failed, "c1")
		got := map[string]string{}
		for _, o := range out {
			got[o.Host] = o.Reason
		}
		return got, conflicts
	}
	got, conflicts := reasons(nil)
	wantReasons := map[string]string{
		"mine.example.test": "Registered", "theirs.example.test": "Conflict", "byhand.example.test": "Conflict",
		"new.example.test": "Registered", "none.example.test": "NoTarget",
	}
	for h, w := range wantReasons {
		if got[h] != w {
			t.Errorf("%s: %s, want %s", h, got[h], w)
		}
	}
	if conflicts != 2 {
		t.Errorf("conflicts = %d, want 2", conflicts)
	}
	got, _ = reasons(map[string]error{"new.example.test": errors.New("SERVFAIL")})
	if got["new.example.test"] != "ProviderError" || got["mine.example.test"] != "Registered" {
		t.Errorf("after a failed write: %v", got)
	}
	// Of two pending hostnames one was refused, the other written: the
	// refused one says so on its own.
	changes.Create = append(changes.Create, owned("mine.example.test", "A", "", "192.0.2.1"))
	got, _ = reasons(map[string]error{"new.example.test": errors.New("422 Conflicts with pre-existing RRset")})
	if got["new.example.test"] != "Refused" || got["mine.example.test"] != "Registered" {
		t.Errorf("after one refused record set: %v", got)
	}
}

func TestOutcomesReplaceReportsChanges(t *testing.T) {
	s := &Outcomes{}
	if _, _, synced := s.Get("x"); synced {
		t.Fatal("synced before the first sync")
	}
	a := Outcome{Host: "a", Reason: "Registered"}
	if got := s.Replace(map[string]Outcome{"a": a}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first = %v", got)
	}
	if got := s.Replace(map[string]Outcome{"a": a}); len(got) != 0 {
		t.Fatalf("same again = %v", got)
	}
	b := a
	b.Reason = "Conflict"
	if got := s.Replace(map[string]Outcome{"a": b}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("changed = %v", got)
	}
	if got := s.Replace(map[string]Outcome{}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("gone = %v", got)
	}
}

func TestInZones(t *testing.T) {
	in := inZones([]string{"Apps.Example.test.", "other.test"})
	for host, want := range map[string]bool{
		"apps.example.test": true, "www.apps.example.test": true, "*.apps.example.test": true, "other.test": true,
		"xapps.example.test": false, "example.test": false, "www.example.org": false,
	} {
		if got := in(host); got != want {
			t.Errorf("inZones(%q) = %v, want %v", host, got, want)
		}
	}
}

// A failed zone read keeps what was registered, from the last sync or,
// after a restart, from the claim; everything else is a provider error.
func TestOutcomesAfterFailure(t *testing.T) {
	registered := claim("old.example.test", "c1", "a")
	registered.Generation = 2
	registered.Status.Conditions = []metav1.Condition{{Type: ConditionDNSRegistered, Status: metav1.ConditionTrue, Reason: "Registered", Message: "published A 192.0.2.1", ObservedGeneration: 2}}
	stale := claim("stale.example.test", "c1", "a")
	stale.Generation = 3
	stale.Status.Conditions = []metav1.Condition{{Type: ConditionDNSRegistered, Status: metav1.ConditionTrue, Reason: "Registered", ObservedGeneration: 2}}
	published := []Published{
		{Host: "old.example.test", Claim: registered},
		{Host: "stale.example.test", Claim: stale},
		{Host: "new.example.test", Claim: claim("new.example.test", "c1", "a")},
	}
	got := outcomesAfterFailure(published, &Outcomes{}, "down")
	for name, want := range map[string]string{registered.Name: "Registered", stale.Name: "ProviderError", published[2].Claim.Name: "ProviderError"} {
		if got[name].Reason != want {
			t.Errorf("%s: %s, want %s", name, got[name].Reason, want)
		}
	}
	if got[registered.Name].Message != "published A 192.0.2.1" {
		t.Errorf("kept message = %q", got[registered.Name].Message)
	}
}
