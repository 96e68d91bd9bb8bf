package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// DNSInput describes a tenant publishing a site.
type DNSInput struct {
	Namespace, Hostname string
	// LoadBalancerIP is what the ingress controller writes into the
	// Ingress's status.
	LoadBalancerIP string
	Timeout        time.Duration
}

// SitePublishedInDNS: an Ingress admitted by the hostnames webhook (which
// claims its hostname at the hub) is published by the DNS operator binary
// in BIND9 with the load balancer's address, the claim says so, and the
// record goes when the Ingress does.
func SitePublishedInDNS(ctx context.Context, t *testing.T, in DNSInput) {
	t.Helper()
	c := f.env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: in.Namespace, Name: "site"},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: in.Hostname}}},
	}
	if err := c.Create(ctx, ing); err != nil {
		t.Fatalf("Ingress refused: %v", err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: in.LoadBalancerIP}}
	if err := c.Status().Update(ctx, ing); err != nil {
		t.Fatal(err)
	}
	resolves := func(want ...string) error { return records(in.Hostname, mdns.TypeA, want...) }
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return resolves(in.LoadBalancerIP) }); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, in.Timeout, func() error {
		claim := &fleetv1.HostnameClaim{}
		if err := f.hub.Client.Get(ctx, client.ObjectKey{Name: in.Hostname}, claim); err != nil {
			return err
		}
		if cond := meta.FindStatusCondition(claim.Status.Conditions, "DNSRegistered"); cond == nil || cond.Status != metav1.ConditionTrue {
			return fmt.Errorf("claim DNSRegistered = %+v", cond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return resolves() }); err != nil {
		t.Fatal(err)
	}
}

func TestSitePublishedInDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	SitePublishedInDNS(context.Background(), t, DNSInput{
		Namespace: "dns-tenant", Hostname: "www." + dnsZone, LoadBalancerIP: "192.0.2.81", Timeout: 30 * time.Second,
	})
}

// DNSEndpointInput describes a tenant publishing a record of their own.
type DNSEndpointInput struct {
	User, Project string
	// Hostname is published as a CNAME to Target.
	Hostname, Target string
	Timeout          time.Duration
}

// TenantPublishesDNSEndpoint: a casual user's Project lets them create a
// DNSEndpoint (the shipped roles aggregate into the namespace's admin
// role); the hostnames webhook claims its name and the DNS operator
// publishes the record as given.
func TenantPublishesDNSEndpoint(ctx context.Context, t *testing.T, in DNSEndpointInput) {
	t.Helper()
	user, err := f.env.ClientAs(in.User)
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	ep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
		"metadata": map[string]any{"name": "alias", "namespace": in.Project},
		"spec": map[string]any{"endpoints": []any{map[string]any{
			"dnsName": in.Hostname, "recordType": "CNAME", "targets": []any{in.Target},
		}}},
	}}
	// The namespace's RoleBindings come with the Project; retry until then.
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return user.Create(ctx, ep.DeepCopy()) }); err != nil {
		t.Fatalf("%s creating a DNSEndpoint: %v", in.User, err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error { return records(in.Hostname, mdns.TypeCNAME, in.Target) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestTenantPublishesDNSEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	TenantPublishesDNSEndpoint(context.Background(), t, DNSEndpointInput{
		User: "dora", Project: "dora-lab", Hostname: "api.dora-lab." + dnsZone, Target: "api.example.net", Timeout: time.Minute,
	})
}

// TestDNSOperatorNeverLogsItsSecret: after the DNS stories, at the most
// verbose level the operator runs at here, its log holds no trace of the
// TSIG secret it signs every update with.
func TestDNSOperatorNeverLogsItsSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	SitePublishedInDNS(context.Background(), t, DNSInput{
		Namespace: "dns-secret", Hostname: "secret-check." + dnsZone, LoadBalancerIP: "192.0.2.82", Timeout: 30 * time.Second,
	})
	var log []byte
	for _, path := range f.member.Logs(components.DNS) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, b...)
	}
	if len(log) == 0 {
		t.Fatal("the operator logged nothing: the check would prove nothing")
	}
	if strings.Contains(string(log), f.dns.KeySecret) {
		t.Fatal("the TSIG secret appears in the DNS operator's log")
	}
}

// records checks the name's records of one type in the fleet's DNS (none
// when want is empty).
func records(name string, qtype uint16, want ...string) error {
	got, err := f.dns.Lookup(name, qtype)
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s %s = %v, want %v", name, mdns.TypeToString[qtype], got, want)
	}
	return nil
}
