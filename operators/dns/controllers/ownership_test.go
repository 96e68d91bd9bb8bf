package controllers

import (
	"context"
	"slices"
	"testing"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
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
	if err := r.apply(ctx, r.plan(current, fresh)); err != nil {
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
