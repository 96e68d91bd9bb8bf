package sources

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Source reads the hostnames of one kind. Objects are handled as
// unstructured, so the webhook serves any version of a kind's API without
// depending on its Go module.
type Source interface {
	// Kind is the group, version, kind and resource the webhook registers for.
	Kind() Kind
	// Hostnames returns the hostnames as written in the object, in the order
	// they appear; duplicates are allowed (normalization merges them).
	Hostnames(obj *unstructured.Unstructured) ([]string, error)
	// AllowsWildcards says whether a "*." hostname is meaningful for the kind.
	AllowsWildcards() bool
	// CatchAll says what part of the object would serve hostnames it does
	// not name (an Ingress rule without a host, a default backend, an
	// HTTPRoute without hostnames), or "" when there is none. Such a part
	// takes traffic for names nobody claimed, so tenants may not use it.
	CatchAll(obj *unstructured.Unstructured) (string, error)
}

// Kind names a kind and its resource.
type Kind struct {
	schema.GroupVersionKind
	Resource string
}

var registry = map[schema.GroupKind]Source{}

// Register adds a Source; each kind's file calls it from init.
func Register(s Source) {
	gk := s.Kind().GroupKind()
	if _, dup := registry[gk]; dup {
		panic(fmt.Sprintf("sources: %s registered twice", gk))
	}
	registry[gk] = s
}

// For returns the Source of a kind.
func For(gk schema.GroupKind) (Source, bool) {
	s, ok := registry[gk]
	return s, ok
}

// All returns every registered Source, ordered by group and kind.
func All() []Source {
	out := make([]Source, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Kind(), out[j].Kind()
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return a.GroupVersionKind.Kind < b.GroupVersionKind.Kind
	})
	return out
}

// Served returns the registered sources whose APIs the cluster serves: an
// OpenShift Route exists only on OKD, a DNSEndpoint only with its CRD.
func Served(mapper meta.RESTMapper) []Source {
	var out []Source
	for _, s := range All() {
		k := s.Kind()
		if _, err := mapper.RESTMapping(k.GroupKind(), k.Version); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// claimOnly is implemented by kinds whose hostnames are claimed but not
// published in DNS by themselves (a Gateway's listeners: the records are
// its HTTPRoutes').
type claimOnly interface{ ClaimOnly() bool }

// tenantOnly is implemented by kinds whose hostnames are claimed only in
// Projects' namespaces.
type tenantOnly interface{ TenantOnly() bool }

// TenantOnly reports whether a kind's objects claim hostnames only in a
// Project's namespace (a Gateway: the platform's own Gateways outside
// Projects are infrastructure that tenants' routes attach to).
func TenantOnly(s Source) bool {
	t, ok := s.(tenantOnly)
	return ok && t.TenantOnly()
}

// tenantRefuser is implemented by kinds with more that a tenant may not
// ask for than hostnames and catch-alls (a DNSEndpoint's record types).
type tenantRefuser interface {
	TenantRefusal(obj *unstructured.Unstructured) (string, error)
}

// TenantRefusal says what of an object a tenant may not ask for, beyond
// its hostnames, or "".
func TenantRefusal(s Source, obj *unstructured.Unstructured) (string, error) {
	if r, ok := s.(tenantRefuser); ok {
		return r.TenantRefusal(obj)
	}
	return "", nil
}

// Published returns the served sources whose hostnames the DNS operator
// publishes.
func Published(mapper meta.RESTMapper) []Source {
	var out []Source
	for _, s := range Served(mapper) {
		if c, ok := s.(claimOnly); ok && c.ClaimOnly() {
			continue
		}
		out = append(out, s)
	}
	return out
}

// stringsAt reads a list of strings at a path, tolerating its absence.
func stringsAt(obj map[string]any, path ...string) ([]string, error) {
	out, _, err := unstructured.NestedStringSlice(obj, path...)
	return out, err
}

// eachItem calls f for every map in the list at path.
func eachItem(obj map[string]any, f func(map[string]any) error, path ...string) error {
	// Read in place: the items are only read, and objects come from a
	// cache whose copies would cost more than the reading.
	v, found, err := unstructured.NestedFieldNoCopy(obj, path...)
	if err != nil || !found || v == nil {
		return err
	}
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%v is not a list", path)
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("%v[%d] is not an object", path, i)
		}
		if err := f(m); err != nil {
			return err
		}
	}
	return nil
}
