package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/dns/controllers"
)

const timeout = 30 * time.Second

// skipShort skips a test of the fleet (API servers, BIND9, the operators)
// in -short mode, where TestMain starts none of it.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test fleet and BIND9")
	}
}

func namespace(t *testing.T, mb *member, name string) {
	t.Helper()
	err := mb.env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// claim reserves host at the hub for a namespace of a cluster, as the
// hostnames webhook does at admission.
func claim(t *testing.T, host, cluster, ns string) *fleetv1.HostnameClaim {
	t.Helper()
	h, err := hostname.Normalize(host, hostname.Options{AllowWildcard: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{Name: hostname.ClaimName(h), Labels: map[string]string{fleetv1.ClusterLabel: cluster, fleetv1.NamespaceLabel: ns}},
		Spec:       fleetv1.HostnameClaimSpec{Hostname: h.Name, Cluster: cluster, Namespace: ns},
	}
	if err := hostnamesIdentity(t, cluster).Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// release deletes a claim as its cluster's hostnames webhook does.
func release(t *testing.T, c *fleetv1.HostnameClaim) {
	t.Helper()
	if err := hostnamesIdentity(t, c.Spec.Cluster).Delete(context.Background(), c); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
}

var (
	identitiesMu sync.Mutex
	identities   = map[string]client.Client{}
)

// hostnamesIdentity is a client of the hub acting as the cluster's
// hostnames identity there (minted once per cluster).
func hostnamesIdentity(t *testing.T, cluster string) client.Client {
	t.Helper()
	identitiesMu.Lock()
	defer identitiesMu.Unlock()
	if c := identities[cluster]; c != nil {
		return c
	}
	c := identityClient(t, cluster, func(creds fleet.HubCredentials) []byte { return creds.Of(components.Hostnames) })
	identities[cluster] = c
	return c
}

// identityClient is a client of the hub acting as one of the cluster's
// identities there, minted as an admin mints them.
func identityClient(t *testing.T, cluster string, which func(fleet.HubCredentials) []byte) client.Client {
	t.Helper()
	creds, err := fleet.MintMember(context.Background(), hub, cluster)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(which(creds))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: hub.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ingress creates an Ingress for hosts; with lbIP its status names that
// load balancer, as an ingress controller would write it.
func ingress(t *testing.T, mb *member, ns, name, lbIP string, hosts ...string) *networkingv1.Ingress {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, h := range hosts {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
	}
	ctx := context.Background()
	if err := mb.env.Client.Create(ctx, ing); err != nil {
		t.Fatal(err)
	}
	if lbIP != "" {
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: lbIP}}
		if err := mb.env.Client.Status().Update(ctx, ing); err != nil {
			t.Fatal(err)
		}
	}
	return ing
}

// create makes an object of a stand-in kind (Route, HTTPRoute, DNSEndpoint)
// from its fields.
func create(t *testing.T, mb *member, apiVersion, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: fields}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := mb.env.Client.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// lookup asks BIND for name's records of one type.
func lookup(t *testing.T, name string, qtype uint16) []string {
	t.Helper()
	got, err := dns.Lookup(name, qtype)
	if err != nil {
		t.Logf("lookup %s: %v", name, err)
	}
	slices.Sort(got)
	return got
}

// waitRecords waits until name's records of type qtype are exactly want
// (none, for an empty want).
func waitRecords(t *testing.T, name string, qtype uint16, want ...string) {
	t.Helper()
	slices.Sort(want)
	var got []string
	err := testenv.Eventually(context.Background(), timeout, func() error {
		if got = lookup(t, name, qtype); !slices.Equal(got, want) {
			return fmt.Errorf("%s %s = %v, want %v", name, dnsType(qtype), got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func dnsType(q uint16) string { return dnsTypeName[q] }

var dnsTypeName = map[uint16]string{1: "A", 5: "CNAME", 16: "TXT", 28: "AAAA"}

// owners returns the owner ids in the TXT registry's records for name's A set.
func owners(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	for _, txt := range lookup(t, controllers.OwnershipName(name, "A"), 16) {
		for _, kv := range strings.Split(txt, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "external-dns/owner" {
				out = append(out, v)
			}
		}
	}
	return out
}

// waitCondition waits until the claim of host reports DNSRegistered with reason.
func waitCondition(t *testing.T, host, reason string) *metav1.Condition {
	t.Helper()
	h, _ := hostname.Normalize(host, hostname.Options{AllowWildcard: true})
	var cond *metav1.Condition
	err := testenv.Eventually(context.Background(), timeout, func() error {
		c := &fleetv1.HostnameClaim{}
		if err := hub.Client.Get(context.Background(), client.ObjectKey{Name: hostname.ClaimName(h)}, c); err != nil {
			return err
		}
		cond = meta.FindStatusCondition(c.Status.Conditions, controllers.ConditionDNSRegistered)
		if cond == nil || cond.Reason != reason {
			return fmt.Errorf("claim %s: DNSRegistered = %+v, want reason %s", c.Name, cond, reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cond
}

// waitEvent waits for an event with reason about the named object and
// returns its note.
func waitEvent(t *testing.T, mb *member, ns, name, reason string) string {
	t.Helper()
	var note string
	err := testenv.Eventually(context.Background(), timeout, func() error {
		var ok bool
		if note, ok = findEvent(t, mb, ns, name, reason); !ok {
			return fmt.Errorf("no %s event on %s/%s", reason, ns, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return note
}

func hasEvent(t *testing.T, mb *member, ns, name, reason string) bool {
	t.Helper()
	_, ok := findEvent(t, mb, ns, name, reason)
	return ok
}

func findEvent(t *testing.T, mb *member, ns, name, reason string) (string, bool) {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := mb.env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			return e.Note, true
		}
	}
	return "", false
}

func del(t *testing.T, mb *member, obj client.Object) {
	t.Helper()
	if err := mb.env.Client.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
}

// zoneReads reads the operator's zone read counter for a cluster.
func zoneReads(t *testing.T, cluster string) float64 {
	t.Helper()
	return testenv.Metric("atrium_dns_zone_reads_total", "cluster", cluster).GetCounter().GetValue()
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, func() error {
		if !ok() {
			return fmt.Errorf("condition not met")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ownerRecord is the name of the ownership record of name's A set.
func ownerRecord(name string) string { return controllers.OwnershipName(name, "A") }
