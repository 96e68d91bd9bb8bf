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

// New record sets: their ownership records go first, exactly as the
// registry writes them after.
func TestOwnershipIsWrittenFirst(t *testing.T) {
	p := &recordingProvider{}
	r := &ZoneReconciler{Provider: p, OwnershipFirst: true, Cluster: "c1", Zones: []string{"example.test"}}
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
	www := endpoint.NewEndpointWithTTL("www.example.test", "A", 300, "192.0.2.1")
	www.Labels[endpoint.ResourceLabelKey] = "ingress/a/web"
	wild := endpoint.NewEndpointWithTTL("*.apps.example.test", "CNAME", 300, "lb.example.net")
	wild.Labels[endpoint.ResourceLabelKey] = "route/a/r"
	if err := r.apply(ctx, r.plan(current, []*endpoint.Endpoint{www, wild})); err != nil {
		t.Fatal(err)
	}
	if len(p.calls) != 2 {
		t.Fatalf("%d writes, want 2", len(p.calls))
	}
	first, second := p.calls[0].Create, p.calls[1].Create
	if got := texts(first, "A"); len(got) != 0 || len(texts(first, "CNAME")) != 0 {
		t.Fatalf("the first write holds record sets: %v", first)
	}
	owners := texts(first, "TXT")
	if want := texts(second, "TXT"); len(owners) != 2 || !slices.Equal(owners, want) {
		t.Fatalf("ownership written first:\n%v\nthe registry's:\n%v", owners, want)
	}
	if got := texts(second, "A"); !slices.Equal(got, []string{"www.example.test 192.0.2.1"}) {
		t.Fatalf("record sets = %v", got)
	}

	// Without the option only the registry writes.
	p.calls = nil
	r.OwnershipFirst = false
	if err := r.apply(ctx, r.plan(nil, []*endpoint.Endpoint{www})); err != nil {
		t.Fatal(err)
	}
	if len(p.calls) != 1 {
		t.Fatalf("%d writes, want 1", len(p.calls))
	}
}
