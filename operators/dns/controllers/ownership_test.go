package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"

	"github.com/atrium-dev/atrium/internal/hostname"
)

// recordingProvider keeps every batch of changes it is asked to apply.
type recordingProvider struct {
	edprovider.BaseProvider
	calls []*plan.Changes
}

func (p *recordingProvider) Records(context.Context) ([]*endpoint.Endpoint, error) { return nil, nil }

func (p *recordingProvider) ApplyChanges(_ context.Context, c *plan.Changes) error {
	p.calls = append(p.calls, &plan.Changes{Create: slices.Clone(c.Create), UpdateNew: slices.Clone(c.UpdateNew), Delete: slices.Clone(c.Delete)})
	return nil
}

func texts(eps []*endpoint.Endpoint, typ string) []string {
	var out []string
	for _, ep := range eps {
		if ep.RecordType == typ {
			out = append(out, ep.DNSName+" "+ep.Targets.String())
		}
	}
	slices.Sort(out)
	return out
}

// applyNew applies the creation of eps through a fresh reconciler over a
// recording provider and returns the provider's calls.
func applyNew(t *testing.T, ownershipFirst bool, eps ...*endpoint.Endpoint) []*plan.Changes {
	t.Helper()
	p := &recordingProvider{}
	r := &ZoneReconciler{Provider: p, OwnershipFirst: ownershipFirst, Cluster: "c1", Zones: []string{"example.test"}}
	reg, err := r.newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	r.registry = reg
	ctx := context.Background()
	current, err := reg.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var fresh []*endpoint.Endpoint
	for _, ep := range eps {
		fresh = append(fresh, ep.DeepCopy())
	}
	if _, err := r.apply(ctx, r.plan(current, fresh)); err != nil {
		t.Fatal(err)
	}
	return p.calls
}

// New record sets: their ownership records go first, exactly as the
// registry would write them, and are not written again.
func TestOwnershipIsWrittenFirst(t *testing.T) {
	www := endpoint.NewEndpointWithTTL("www.example.test", "A", 300, "192.0.2.1")
	www.Labels[endpoint.ResourceLabelKey] = "ingress/a/web"
	wild := endpoint.NewEndpointWithTTL("*.apps.example.test", "CNAME", 300, "lb.example.net")
	wild.Labels[endpoint.ResourceLabelKey] = "route/a/r"

	plain := applyNew(t, false, www, wild)
	if len(plain) != 1 {
		t.Fatalf("registry alone: %d writes, want 1", len(plain))
	}
	registryOwners := texts(plain[0].Create, "TXT")

	calls := applyNew(t, true, www, wild)
	if len(calls) != 2 {
		t.Fatalf("%d writes, want 2", len(calls))
	}
	first, second := calls[0].Create, calls[1].Create
	if len(texts(first, "A"))+len(texts(first, "CNAME")) != 0 {
		t.Fatalf("the first write holds record sets: %v", first)
	}
	if got := texts(first, "TXT"); len(got) != 2 || !slices.Equal(got, registryOwners) {
		t.Fatalf("ownership written first:\n%v\nthe registry's:\n%v", got, registryOwners)
	}
	if got := texts(second, "TXT"); len(got) != 0 {
		t.Fatalf("ownership records written twice: %v", got)
	}
	if got := texts(second, "A"); !slices.Equal(got, []string{"www.example.test 192.0.2.1"}) {
		t.Fatalf("record sets = %v", got)
	}
	if got := texts(second, "CNAME"); len(got) != 1 {
		t.Fatalf("record sets = %v", got)
	}
}

// No hostname anybody can claim is the name of an ownership record (so no
// tenant can put a CNAME there and break the zone's updates), and no two
// claimable names share one (so one cluster's wildcard and another's name
// under it never fight over one record).
func TestOwnershipNamesAreNotClaimable(t *testing.T) {
	names := []string{
		"www.example.test", "*.example.test", "any.example.test", "ww.example.test",
		"a-www.example.test", "_atrium-a.www.example.test", "*.any.example.test",
		"xn--bcher-kva.example.test", "a.b.c.example.test",
	}
	seen := map[string]string{}
	for _, n := range names {
		h, err := hostname.Normalize(n, hostname.Options{AllowWildcard: true})
		if err != nil {
			continue // not claimable: nothing to check
		}
		for _, typ := range managedTypes {
			owner := ownershipName(h.Name, typ)
			if _, err := hostname.Normalize(owner, hostname.Options{AllowWildcard: true}); err == nil {
				t.Errorf("the ownership record of %s %s, %q, is a claimable hostname", h.Name, typ, owner)
			}
			if other, dup := seen[owner]; dup {
				t.Errorf("%s %s and %s share the ownership record %q", h.Name, typ, other, owner)
			}
			seen[owner] = h.Name + " " + typ
			// The registry reads the record back as the set it owns.
			back, backType := txtNames.ToEndpointName(owner)
			if h.Wildcard {
				back = strings.Replace(back, hostname.WildcardLabel, "*", 1)
			}
			if back != h.Name || !strings.EqualFold(backType, typ) {
				t.Errorf("ownership record %q reads back as %q %q, want %q %q", owner, back, backType, h.Name, typ)
			}
		}
	}
	if got := ownershipName("*.example.test", "A"); got == ownershipName("any.example.test", "A") {
		t.Errorf("a wildcard and a name under it share %q", got)
	}
}
