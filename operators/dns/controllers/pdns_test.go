package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"

	"github.com/atrium-dev/atrium/internal/pdnsfake"
	"github.com/atrium-dev/atrium/operators/dns/provider"
)

// pdnsReconciler is a zone controller's write path over the pdns provider,
// configured as the binary configures it, against a fake PowerDNS API.
func pdnsReconciler(t *testing.T, fake *pdnsfake.Server, key string) *ZoneReconciler {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "pdns-api-key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := provider.Config{Provider: provider.PDNS, Zones: []string{"example.test"}, Server: fake.URL, PDNSServerID: "localhost", PDNSAPIKeyFile: keyFile}
	p, err := provider.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &ZoneReconciler{Provider: p, OwnershipFirst: cfg.OwnershipFirst(), Cluster: "c1", Zones: cfg.Zones}
	if r.registry, err = r.newRegistry(); err != nil {
		t.Fatal(err)
	}
	return r
}

// The pdns provider, driven by the real client library: record sets and
// their ownership records are written, read back as this cluster's, and
// deleted; a wrong API key is an error, not an empty zone.
func TestPDNSProvider(t *testing.T) {
	fake := pdnsfake.Start("s3cret", "localhost", "example.test")
	defer fake.Close()
	ctx := context.Background()
	r := pdnsReconciler(t, fake, "s3cret")
	current, err := r.registry.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	www := endpoint.NewEndpointWithTTL("www.example.test", "A", 300, "192.0.2.1", "192.0.2.2")
	www.Labels[endpoint.ResourceLabelKey] = "ingress/a/web"
	alias := endpoint.NewEndpointWithTTL("alias.example.test", "CNAME", 300, "www.example.test")
	if _, err := r.apply(ctx, r.plan(current, []*endpoint.Endpoint{www, alias})); err != nil {
		t.Fatal(err)
	}
	rr, ok := fake.RRset("www.example.test", "A")
	if !ok || len(rr.Records) != 2 || rr.TTL != 300 {
		t.Fatalf("A RRset = %+v, %v", rr, ok)
	}
	owner, ok := fake.RRset(ownershipName("www.example.test", "A"), "TXT")
	if !ok || !strings.Contains(owner.Records[0].Content, "external-dns/owner=c1") {
		t.Fatalf("ownership RRset = %+v, %v", owner, ok)
	}

	// Read back by a new registry: the records are this cluster's.
	r2 := pdnsReconciler(t, fake, "s3cret")
	current, err = r2.registry.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, ep := range current {
		if ep.Labels[endpoint.OwnerLabelKey] == "c1" {
			mine++
		}
	}
	if mine != 2 {
		t.Fatalf("%d record sets read back as c1's, want 2: %v", mine, current)
	}
	// Nothing to change when nothing changed.
	if changes := r2.plan(current, []*endpoint.Endpoint{www.DeepCopy(), alias.DeepCopy()}); changes.HasChanges() {
		t.Fatalf("a second plan changes %+v", changes)
	}
	// Deleted: record sets and ownership records go.
	if _, err := r2.apply(ctx, r2.plan(current, nil)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"www.example.test/A", ownershipName("www.example.test", "A") + "/TXT", "alias.example.test/CNAME", ownershipName("alias.example.test", "CNAME") + "/TXT"} {
		n, typ, _ := strings.Cut(name, "/")
		if _, ok := fake.RRset(n, typ); ok {
			t.Errorf("%s still there", name)
		}
	}

	// A wrong key fails the read instead of reading an empty zone (which
	// would plan to delete nothing, but also hide every record).
	bad := pdnsReconciler(t, fake, "wrong")
	if _, err := bad.registry.Records(ctx); err == nil {
		t.Fatal("a wrong API key read the zone")
	}
}

// PowerDNS refuses a whole PATCH for one record set it will not take (here
// a tenant's CNAME at a name that has a TXT record made by hand): that
// record set is refused on its own and reported, while every other change
// of the same sync reaches the zone.
func TestPDNSOneRefusedRecordSetHoldsUpNobody(t *testing.T) {
	fake := pdnsfake.Start("s3cret", "localhost", "example.test")
	defer fake.Close()
	ctx := context.Background()
	r := pdnsReconciler(t, fake, "s3cret")
	byHand := endpoint.NewEndpointWithTTL("taken.example.test", "TXT", 300, "made by hand")
	if err := r.Provider.ApplyChanges(ctx, &plan.Changes{Create: []*endpoint.Endpoint{byHand}}); err != nil {
		t.Fatal(err)
	}
	current, err := r.registry.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	www := endpoint.NewEndpointWithTTL("www.example.test", "A", 300, "192.0.2.1")
	cname := endpoint.NewEndpointWithTTL("taken.example.test", "CNAME", 300, "www.example.test")
	api := endpoint.NewEndpointWithTTL("api.example.test", "A", 300, "192.0.2.2")
	changes := r.plan(current, []*endpoint.Endpoint{www, cname, api})
	failed, err := r.apply(ctx, changes)
	if err == nil || len(failed) != 1 || failed["taken.example.test"] == nil {
		t.Fatalf("apply: failed %v, err %v; want taken.example.test alone", failed, err)
	}
	for _, name := range []string{"www.example.test", "api.example.test"} {
		if _, ok := fake.RRset(name, "A"); !ok {
			t.Errorf("%s was not written", name)
		}
	}
	if _, ok := fake.RRset("taken.example.test", "CNAME"); ok {
		t.Error("the refused CNAME is in the zone")
	}
}

// A TXT record beside a hostname (a Pages site's verification record)
// reaches PowerDNS quoted, as its API takes TXT content, reads back as
// written, and a second sync finds nothing to change.
func TestPDNSTXTBesideAHostname(t *testing.T) {
	fake := pdnsfake.Start("s3cret", "localhost", "example.test")
	defer fake.Close()
	ctx := context.Background()
	r := pdnsReconciler(t, fake, "s3cret")
	txt := endpoint.NewEndpointWithTTL("_gitlab-pages-verification-code.www.example.test", "TXT", 300, "gitlab-pages-verification-code=0123456789abcdef")
	txt.Labels[endpoint.ResourceLabelKey] = "gitlabpagessite/a/web"
	www := endpoint.NewEndpointWithTTL("www.example.test", "A", 300, "192.0.2.1")
	www.Labels[endpoint.ResourceLabelKey] = "gitlabpagessite/a/web"
	desired := []*endpoint.Endpoint{www, txt}
	current, err := r.registry.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.apply(ctx, r.plan(current, desired)); err != nil {
		t.Fatal(err)
	}
	rr, ok := fake.RRset(txt.DNSName, "TXT")
	if !ok || len(rr.Records) != 1 || rr.Records[0].Content != `"gitlab-pages-verification-code=0123456789abcdef"` {
		t.Fatalf("TXT RRset = %+v, %v", rr, ok)
	}
	r.registry, err = r.newRegistry() // no cache: read the zone again
	if err != nil {
		t.Fatal(err)
	}
	current, err = r.registry.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.plan(current, desired); len(c.Create)+len(c.UpdateNew)+len(c.Delete) != 0 {
		t.Fatalf("a second sync would change %+v", c)
	}
}
