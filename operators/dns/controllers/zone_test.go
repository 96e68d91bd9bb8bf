package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// An Ingress whose hostname the namespace holds is published: an A record
// that resolves, an ownership record naming the cluster, the claim's
// DNSRegistered condition and an event on the Ingress.
func TestIngressIsPublished(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "shop")
	host := "www.shop." + zone
	c := claim(t, host, "member-a", "shop")
	defer release(t, c)
	ing := ingress(t, a, "shop", "web", "192.0.2.10", host)
	defer del(t, a, ing)

	waitRecords(t, host, mdns.TypeA, "192.0.2.10")
	if got := owners(t, host); !slices.Equal(got, []string{"member-a"}) {
		t.Errorf("owners = %v, want [member-a]", got)
	}
	cond := waitCondition(t, host, "Registered")
	if cond.Status != "True" || !strings.Contains(cond.Message, "A 192.0.2.10") {
		t.Errorf("condition = %+v", cond)
	}
	if note := waitEvent(t, a, "shop", "web", "DNSRegistered"); !strings.Contains(note, host) {
		t.Errorf("event note = %q", note)
	}

	// The load balancer's address changes: the record follows.
	ing.Status.LoadBalancer.Ingress[0].IP = "192.0.2.11"
	if err := a.env.Client.Status().Update(context.Background(), ing); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.11")
}

// One operator writes several zones; a hostname in none of them is not
// published and says so.
func TestZones(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "zones")
	second, outside := "www."+zone2, "www.elsewhere.test"
	defer release(t, claim(t, second, "member-a", "zones"))
	defer release(t, claim(t, outside, "member-a", "zones"))
	ing := ingress(t, a, "zones", "web", "192.0.2.150", second, outside)
	defer del(t, a, ing)
	waitRecords(t, second, mdns.TypeA, "192.0.2.150")
	if got := owners(t, second); !slices.Equal(got, []string{"member-a"}) {
		t.Errorf("owners in the second zone = %v", got)
	}
	waitCondition(t, outside, "OutsideZones")
	waitEvent(t, a, "zones", "web", "DNSOutsideZones")
}

// A hostname without a claim for the namespace is never published, and the
// object is told why.
func TestUnclaimedHostnameIsNotPublished(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "squatter")
	host := "stolen." + zone
	ing := ingress(t, a, "squatter", "web", "192.0.2.66", host)
	defer del(t, a, ing)
	waitEvent(t, a, "squatter", "web", "DNSNotClaimed")
	if got := lookup(t, host, mdns.TypeA); len(got) != 0 {
		t.Fatalf("an unclaimed hostname resolves: %v", got)
	}
}

// Changing an Ingress's hostname moves the record; deleting the Ingress
// removes it.
func TestHostnameChangeMovesAndDeleteRemoves(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "blog")
	old, renamed := "old.blog."+zone, "new.blog."+zone
	c1 := claim(t, old, "member-a", "blog")
	defer release(t, c1)
	ing := ingress(t, a, "blog", "web", "192.0.2.20", old)
	waitRecords(t, old, mdns.TypeA, "192.0.2.20")

	c2 := claim(t, renamed, "member-a", "blog")
	defer release(t, c2)
	ing.Spec.Rules[0].Host = renamed
	if err := a.env.Client.Update(context.Background(), ing); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, renamed, mdns.TypeA, "192.0.2.20")
	waitRecords(t, old, mdns.TypeA)
	waitRecords(t, ownerRecord(old), mdns.TypeTXT)
	// The old name's claim (released later by the hostnames webhook) says
	// that nothing is published for it any more.
	waitCondition(t, old, "NoObject")

	del(t, a, ing)
	waitRecords(t, renamed, mdns.TypeA)
	waitRecords(t, ownerRecord(renamed), mdns.TypeTXT)
}

// Every kind of source: a Route's router name becomes a CNAME, a
// DNSEndpoint's records are published as given, an HTTPRoute uses the
// cluster's ingress address.
func TestEveryKind(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "kinds")
	route, ep, http := "route.kinds."+zone, "ep.kinds."+zone, "http.kinds."+zone
	for _, h := range []string{route, ep, http} {
		defer release(t, claim(t, h, "member-a", "kinds"))
	}
	r := create(t, a, "route.openshift.io/v1", "Route", "kinds", "r", map[string]any{
		"spec":   map[string]any{"host": route},
		"status": map[string]any{"ingress": []any{map[string]any{"routerCanonicalHostname": "router.apps.example.net"}}},
	})
	defer del(t, a, r)
	d := create(t, a, "externaldns.k8s.io/v1alpha1", "DNSEndpoint", "kinds", "d", map[string]any{
		"spec": map[string]any{"endpoints": []any{map[string]any{"dnsName": ep, "recordType": "AAAA", "targets": []any{"2001:db8::7"}, "recordTTL": int64(120)}}},
	})
	defer del(t, a, d)
	h := create(t, a, "gateway.networking.k8s.io/v1", "HTTPRoute", "kinds", "h", map[string]any{
		"spec": map[string]any{"hostnames": []any{http}},
	})
	defer del(t, a, h)

	waitRecords(t, route, mdns.TypeCNAME, "router.apps.example.net")
	waitRecords(t, ep, mdns.TypeAAAA, "2001:db8::7")
	waitRecords(t, http, mdns.TypeA, "192.0.2.100")
}

// An HTTPRoute points at its parent Gateway's addresses, and follows them.
func TestHTTPRouteFollowsItsGateway(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "gw")
	host := "www.gw." + zone
	defer release(t, claim(t, host, "member-a", "gw"))
	g := create(t, a, "gateway.networking.k8s.io/v1", "Gateway", "gw", "public", map[string]any{
		"spec":   map[string]any{"gatewayClassName": "example"},
		"status": map[string]any{"addresses": []any{map[string]any{"type": "IPAddress", "value": "192.0.2.130"}}},
	})
	defer del(t, a, g)
	h := create(t, a, "gateway.networking.k8s.io/v1", "HTTPRoute", "gw", "site", map[string]any{
		"spec": map[string]any{"hostnames": []any{host}, "parentRefs": []any{map[string]any{"name": "public"}}},
	})
	defer del(t, a, h)
	waitRecords(t, host, mdns.TypeA, "192.0.2.130")

	if err := unstructured.SetNestedSlice(g.Object, []any{map[string]any{"type": "IPAddress", "value": "192.0.2.131"}}, "status", "addresses"); err != nil {
		t.Fatal(err)
	}
	if err := a.env.Client.Update(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.131")
}

// Two clusters write one zone: each publishes its own hostnames and never
// changes or deletes the other's, through resyncs and deletions.
func TestTwoOwnersShareTheZone(t *testing.T) {
	skipShort(t)
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "team")
	namespace(t, b, "team")
	ha, hb := "a.team."+zone, "b.team."+zone
	defer release(t, claim(t, ha, "member-a", "team"))
	defer release(t, claim(t, hb, "member-b", "team"))
	ia := ingress(t, a, "team", "web", "192.0.2.31", ha)
	ib := ingress(t, b, "team", "web", "192.0.2.32", hb)
	defer del(t, b, ib)
	waitRecords(t, ha, mdns.TypeA, "192.0.2.31")
	waitRecords(t, hb, mdns.TypeA, "192.0.2.32")
	if got := owners(t, hb); !slices.Equal(got, []string{"member-b"}) {
		t.Fatalf("owners of %s = %v", hb, got)
	}

	// member-a's hostname goes; member-b's stays, across member-a's resyncs.
	del(t, a, ia)
	waitRecords(t, ha, mdns.TypeA)
	waitRecords(t, hb, mdns.TypeA, "192.0.2.32")
	waitZoneReads(t, "member-a", 2)
	waitRecords(t, hb, mdns.TypeA, "192.0.2.32")
}

// A hostname moves from one cluster to another while the first cluster's
// operator is down: the second reports a conflict and leaves the first's
// records alone; once the first operator is back it removes them, and the
// second publishes.
func TestHostnameMovesBetweenClusters(t *testing.T) {
	skipShort(t)
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "mover")
	namespace(t, b, "mover")
	host := "moving." + zone
	ca := claim(t, host, "member-a", "mover")
	ia := ingress(t, a, "mover", "web", "192.0.2.160", host)
	waitRecords(t, host, mdns.TypeA, "192.0.2.160")

	a.stop()
	defer func() {
		if a.stop == nil {
			if err := a.startOperator(); err != nil {
				t.Error(err)
			}
		}
	}()
	del(t, a, ia)
	release(t, ca)
	defer release(t, claim(t, host, "member-b", "mover"))
	ib := ingress(t, b, "mover", "web", "192.0.2.161", host)
	defer del(t, b, ib)
	cond := waitCondition(t, host, "Conflict")
	if !strings.Contains(cond.Message, `"member-a"`) {
		t.Errorf("conflict message = %q", cond.Message)
	}
	if got := lookup(t, host, mdns.TypeA); !slices.Equal(got, []string{"192.0.2.160"}) {
		t.Fatalf("member-b touched member-a's records: %v", got)
	}

	if err := a.startOperator(); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.161")
	if got := owners(t, host); !slices.Equal(got, []string{"member-b"}) {
		t.Fatalf("owners = %v, want [member-b]", got)
	}
	waitCondition(t, host, "Registered")
}

// A record another owner (or a person) put in the zone is reported as a
// conflict and left alone; once it goes, the hostname is published.
func TestForeignRecordIsAConflict(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "clash")
	host := "clash." + zone
	if err := dns.Update(zone, []string{
		host + ". 60 IN A 198.51.100.9",
		ownerRecord(host) + `. 60 IN TXT "heritage=external-dns,external-dns/owner=member-z,external-dns/resource=ingress/x/y"`,
	}, nil); err != nil {
		t.Fatal(err)
	}
	defer release(t, claim(t, host, "member-a", "clash"))
	ing := ingress(t, a, "clash", "web", "192.0.2.40", host)
	defer del(t, a, ing)

	cond := waitCondition(t, host, "Conflict")
	if !strings.Contains(cond.Message, `"member-z"`) {
		t.Errorf("conflict message does not name the owner: %q", cond.Message)
	}
	waitEvent(t, a, "clash", "web", "DNSConflict")
	if got := lookup(t, host, mdns.TypeA); !slices.Equal(got, []string{"198.51.100.9"}) {
		t.Fatalf("the foreign record was changed: %v", got)
	}

	// The other owner removes its records: the hostname is published.
	if err := dns.Update(zone, nil, []string{host + ". 0 IN A 0.0.0.0", ownerRecord(host) + `. 0 IN TXT ""`}); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.40")
	waitCondition(t, host, "Registered")
}

// ServerFaultInput describes a fault of the DNS server.
type ServerFaultInput struct {
	// Namespace gets a hostname published before the fault and one added
	// during it; KeptIP and AddedIP are their load balancer addresses.
	Namespace       string
	KeptIP, AddedIP string
	// Break and Heal start and end the fault.
	Break, Heal func() error
	// Message must appear in the ProviderError condition of the added
	// hostname (any of them).
	Message []string
}

// ServerFault: during the fault the new hostname reports ProviderError
// (with an event) while the published one keeps its record and its
// Registered condition; after it, everything converges.
func ServerFault(t *testing.T, in ServerFaultInput) {
	t.Helper()
	a := members["member-a"]
	namespace(t, a, in.Namespace)
	kept, added := "kept."+in.Namespace+"."+zone, "added."+in.Namespace+"."+zone
	defer release(t, claim(t, kept, "member-a", in.Namespace))
	defer release(t, claim(t, added, "member-a", in.Namespace))
	ik := ingress(t, a, in.Namespace, "kept", in.KeptIP, kept)
	defer del(t, a, ik)
	waitRecords(t, kept, mdns.TypeA, in.KeptIP)
	// Registered, not only resolving: on a loaded machine a write can time
	// out after the server applied it, and the retry that registers it
	// must come before the fault for the story below to hold.
	waitCondition(t, kept, "Registered")

	if err := in.Break(); err != nil {
		t.Fatal(err)
	}
	healed := false
	defer func() {
		if !healed {
			_ = in.Heal()
		}
	}()
	ia := ingress(t, a, in.Namespace, "added", in.AddedIP, added)
	defer del(t, a, ia)
	cond := waitCondition(t, added, "ProviderError")
	if !slices.ContainsFunc(in.Message, func(m string) bool { return strings.Contains(cond.Message, m) }) {
		t.Errorf("the message does not say what happened (%q): %q", in.Message, cond.Message)
	}
	waitEvent(t, a, in.Namespace, "added", "DNSProviderError")
	waitCondition(t, kept, "Registered")

	if err := in.Heal(); err != nil {
		t.Fatal(err)
	}
	healed = true
	waitRecords(t, added, mdns.TypeA, in.AddedIP)
	waitRecords(t, kept, mdns.TypeA, in.KeptIP)
	waitCondition(t, added, "Registered")
}

// The DNS server goes away and comes back.
func TestServerDownThenBack(t *testing.T) {
	skipShort(t)
	ServerFault(t, ServerFaultInput{
		Namespace: "outage", KeptIP: "192.0.2.50", AddedIP: "192.0.2.51",
		Break:   dns.Stop,
		Heal:    func() error { return dns.Restart(context.Background()) },
		Message: []string{"could not be read", "failed"},
	})
}

// The DNS server refuses updates (maintenance, a revoked key): the refusal
// is reported with the server's answer.
func TestServerRefusesUpdates(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	ServerFault(t, ServerFaultInput{
		Namespace: "refused", KeptIP: "192.0.2.140", AddedIP: "192.0.2.141",
		Break:   func() error { return dns.RefuseUpdates(ctx, true) },
		Heal:    func() error { return dns.RefuseUpdates(ctx, false) },
		Message: []string{"REFUSED"},
	})
}

// A record deleted or changed by hand is put back by the periodic resync.
func TestDriftIsRepaired(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "drift")
	host := "drift." + zone
	defer release(t, claim(t, host, "member-a", "drift"))
	ing := ingress(t, a, "drift", "web", "192.0.2.60", host)
	defer del(t, a, ing)
	waitRecords(t, host, mdns.TypeA, "192.0.2.60")

	if err := dns.Update(zone, nil, []string{host + ". 0 IN A 0.0.0.0"}); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.60")

	if err := dns.Update(zone, []string{host + ". 60 IN A 203.0.113.1"}, nil); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.60")
}

// A restarted operator finds its records again: nothing is duplicated, and
// what changed while it was down is applied.
func TestRestartLosesAndDuplicatesNothing(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "restart")
	stay, gone, born := "stay.restart."+zone, "gone.restart."+zone, "born.restart."+zone
	for _, h := range []string{stay, gone, born} {
		defer release(t, claim(t, h, "member-a", "restart"))
	}
	is := ingress(t, a, "restart", "stay", "192.0.2.70", stay)
	defer del(t, a, is)
	ig := ingress(t, a, "restart", "gone", "192.0.2.71", gone)
	waitRecords(t, stay, mdns.TypeA, "192.0.2.70")
	waitRecords(t, gone, mdns.TypeA, "192.0.2.71")

	a.stop()
	defer func() {
		if a.stop == nil {
			if err := a.startOperator(); err != nil {
				t.Error(err)
			}
		}
	}()
	del(t, a, ig)
	ib := ingress(t, a, "restart", "born", "192.0.2.72", born)
	defer del(t, a, ib)
	if err := a.startOperator(); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, born, mdns.TypeA, "192.0.2.72")
	waitRecords(t, gone, mdns.TypeA)
	waitRecords(t, stay, mdns.TypeA, "192.0.2.70")
	if got := lookup(t, ownerRecord(stay), mdns.TypeTXT); len(got) != 1 {
		t.Fatalf("ownership records of %s: %v, want exactly one", stay, got)
	}
}

// The hub goes away: the operator keeps publishing from its cache of the
// claims (records of held hostnames stay and follow their objects), and the
// claims' status catches up once the hub is back.
func TestHubDownKeepsPublishing(t *testing.T) {
	skipShort(t)
	b := members["member-b"]
	namespace(t, b, "island")
	host := "island." + zone
	defer release(t, claim(t, host, "member-b", "island"))
	ing := ingress(t, b, "island", "web", "192.0.2.90", host)
	defer del(t, b, ing)
	waitRecords(t, host, mdns.TypeA, "192.0.2.90")
	waitCondition(t, host, "Registered")

	b.proxy.SetDown(true)
	defer b.proxy.SetDown(false)
	ing.Status.LoadBalancer.Ingress[0].IP = "192.0.2.91"
	if err := b.env.Client.Status().Update(context.Background(), ing); err != nil {
		t.Fatal(err)
	}
	waitRecords(t, host, mdns.TypeA, "192.0.2.91")
	// Resyncs run while the hub is away and delete nothing.
	waitZoneReads(t, "member-b", 2)
	waitRecords(t, host, mdns.TypeA, "192.0.2.91")

	b.proxy.SetDown(false)
	waitFor(t, func() bool {
		return strings.Contains(waitCondition(t, host, "Registered").Message, "192.0.2.91")
	})
}

// A Route with a subdomain wildcard policy publishes a wildcard record,
// with its ownership record under a wildcard label no hostname can have
// (not the registry's usual "any", which "any.<domain>" shares).
func TestWildcard(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "wild")
	defer release(t, claim(t, "*.wild."+zone, "member-a", "wild"))
	r := create(t, a, "route.openshift.io/v1", "Route", "wild", "r", map[string]any{
		"spec": map[string]any{"host": "www.wild." + zone, "wildcardPolicy": "Subdomain"},
	})
	defer del(t, a, r)
	waitRecords(t, "anything.wild."+zone, mdns.TypeA, "192.0.2.100")
	if got := owners(t, "*.wild."+zone); !slices.Equal(got, []string{"member-a"}) {
		t.Fatalf("owners of the wildcard = %v", got)
	}
	if got := owners(t, "any.wild."+zone); len(got) != 0 {
		t.Fatalf("the wildcard's ownership record is also any.wild's: %v", got)
	}
	del(t, a, r)
	waitRecords(t, "anything.wild."+zone, mdns.TypeA)
}

// waitZoneReads waits until the cluster's operator has read the zone n more
// times, which proves that resyncs ran.
func waitZoneReads(t *testing.T, cluster string, n int) {
	t.Helper()
	start := zoneReads(t, cluster)
	waitFor(t, func() bool { return zoneReads(t, cluster) >= start+float64(n) })
}

// A claim that reaches the operator shortly after its object (the hub's
// watch being slower than the member's) draws no false warning.
func TestLateClaimIsNoWarning(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "late")
	host := "late." + zone
	ing := ingress(t, a, "late", "web", "192.0.2.110", host)
	defer del(t, a, ing)
	// Well within the tests' grace of 3s, even on a loaded machine.
	time.Sleep(300 * time.Millisecond)
	defer release(t, claim(t, host, "member-a", "late"))
	waitRecords(t, host, mdns.TypeA, "192.0.2.110")
	waitEvent(t, a, "late", "web", "DNSRegistered")
	if hasEvent(t, a, "late", "web", "DNSNotClaimed") {
		t.Fatal("a DNSNotClaimed warning was recorded for a hostname whose claim was on its way")
	}
}

// A tenant whose kind keeps unknown fields (the stand-in Route CRD does)
// stores a Route without a spec that carries the fields of the cache's
// slim copies, naming a hostname its namespace holds and a target of its
// choosing. The operator's cache does not take it for a slim copy: the
// name is not published there, while the namespace's real Ingress, made
// after it, is.
func TestAForgedSlimRouteIsNotPublished(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "forge")
	forged, real := "forged.forge."+zone, "real.forge."+zone
	defer release(t, claim(t, forged, "member-a", "forge"))
	defer release(t, claim(t, real, "member-a", "forge"))
	r := create(t, a, "route.openshift.io/v1", "Route", "forge", "r", map[string]any{
		"atrium.dev/slim":      int64(1),
		"atrium.dev/hostnames": []any{forged},
		"atrium.dev/targets":   []any{"evil.example.net"},
	})
	defer del(t, a, r)
	ing := ingress(t, a, "forge", "web", "192.0.2.30", real)
	defer del(t, a, ing)
	waitRecords(t, real, mdns.TypeA, "192.0.2.30")
	for _, q := range []uint16{mdns.TypeCNAME, mdns.TypeA} {
		if got := lookup(t, forged, q); len(got) != 0 {
			t.Fatalf("the forged Route's hostname resolves: %s %v", dnsType(q), got)
		}
	}
}
