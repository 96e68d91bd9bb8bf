package claims

import (
	"slices"
	"testing"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
)

func TestCovering(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"www.example.org", []string{"example.org"}},
		{"a.b.c.example.org", []string{"b.c.example.org", "c.example.org", "example.org"}},
		{"example.org", nil},
		{"*.example.org", []string{"example.org"}},
		{"*.shop.example.org", []string{"shop.example.org", "example.org"}},
	} {
		if got := covering(host(t, tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("covering(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestOverlapLabels(t *testing.T) {
	wild := overlapLabels(host(t, "*.shop.example.org"))
	name := overlapLabels(host(t, "www.shop.example.org"))
	deeper := overlapLabels(host(t, "a.b.shop.example.org"))
	if wild[fleetv1.TentativeLabel] != "true" || name[fleetv1.TentativeLabel] != "" {
		t.Errorf("only a wildcard starts tentative: %v %v", wild, name)
	}
	// A wildcard's list (under its domain) finds every name and wildcard
	// beneath it, and nothing beside it.
	key := underLabel("shop.example.org")
	for _, l := range []map[string]string{name, deeper, overlapLabels(host(t, "*.x.shop.example.org"))} {
		if _, ok := l[key]; !ok {
			t.Errorf("%v lacks %s", l, key)
		}
	}
	if _, ok := overlapLabels(host(t, "www.cafe.example.org"))[key]; ok {
		t.Error("a name beside the wildcard's domain is found under it")
	}
	if _, ok := overlapLabels(host(t, "shop.example.org"))[key]; ok {
		t.Error("the wildcard's domain itself is found under it")
	}
	for k := range deeper {
		if len(k) > 253 {
			t.Errorf("label key %q too long", k)
		}
	}
}
