package sources

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/atrium-dev/atrium/internal/hostname"
)

// Record is what an object asks DNS to publish for one of its hostnames.
type Record struct {
	// Host is the hostname the record is published under: the claim that
	// must be held for it to be published.
	Host hostname.Hostname
	// Name is the record's own name when it is not Host itself: a record
	// beside the hostname that only its holder may write (a verification
	// TXT record "_<service>.<host>").
	Name string
	// Type is the record type the object gives; empty means it follows
	// from the targets (A or AAAA for addresses, CNAME for names).
	Type    string
	Targets []string
	// TTL the object gives, in seconds; zero means the publisher's default.
	TTL int64
}

// DNSName is the name the record is written at.
func (r Record) DNSName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Host.Name
}

// Fronts are where a cluster's traffic comes in: the addresses hostnames
// point at when their object's status names none.
type Fronts struct {
	// Defaults are the cluster's ingress addresses from configuration.
	Defaults []string
	// Parents are the addresses of each object that others attach to (a
	// Gateway API Gateway), by kind and "namespace/name".
	Parents map[schema.GroupKind]map[string][]string
}

// targeter is implemented by kinds whose status says where their traffic
// comes in (an Ingress's load balancer, a Route's router).
type targeter interface {
	Targets(obj *unstructured.Unstructured, fronts Fronts) []string
}

// recorder is implemented by kinds that say themselves which records to
// publish (a DNSEndpoint's endpoints).
type recorder interface {
	Records(obj *unstructured.Unstructured) ([]Record, []Invalid, error)
}

// parent is implemented by kinds whose objects others attach to, and whose
// status holds the addresses of those others (a Gateway for its
// HTTPRoutes).
type parent interface {
	Addresses(obj *unstructured.Unstructured) []string
}

// Records returns what an object asks DNS to publish: one record set per
// hostname pointing at the object's own front (from its status), or the
// cluster's defaults, unless the kind says what to publish itself.
// Objects being deleted ask nothing: their records go as soon as deletion
// starts.
func Records(s Source, obj *unstructured.Unstructured, fronts Fronts) ([]Record, []Invalid, error) {
	return records(s, obj, fronts, false)
}

// CachedRecords is Records of an object a cache holds, whole or slim
// (SlimRecords).
func CachedRecords(s Source, obj *unstructured.Unstructured, fronts Fronts) ([]Record, []Invalid, error) {
	return records(s, obj, fronts, true)
}

func records(s Source, obj *unstructured.Unstructured, fronts Fronts, cached bool) ([]Record, []Invalid, error) {
	if obj.GetDeletionTimestamp() != nil {
		return nil, nil, nil
	}
	if r, ok := s.(recorder); ok {
		return r.Records(obj)
	}
	names := Names
	if cached {
		names = CachedNames
	}
	hosts, invalid, err := names(s, obj)
	if err != nil || len(hosts) == 0 {
		return nil, invalid, err
	}
	var targets []string
	if t, ok := s.(ownTargeter); ok && cached {
		targets = slimTargetsOf(t, obj)
	} else if t, ok := s.(targeter); ok {
		targets = t.Targets(obj, fronts)
	}
	if len(targets) == 0 {
		targets = fronts.Defaults
	}
	out := make([]Record, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, Record{Host: h, Targets: slices.Clone(targets)})
	}
	return out, invalid, nil
}

// Parents returns the served kinds whose objects others attach to: what a
// publisher watches to know the addresses of Fronts.Parents.
func Parents(served []Source) []Source {
	var out []Source
	for _, s := range served {
		if _, ok := s.(parent); ok {
			out = append(out, s)
		}
	}
	return out
}

// Addresses returns the addresses in an object's status that the objects
// attached to it point at; none for kinds others do not attach to.
func Addresses(s Source, obj *unstructured.Unstructured) []string {
	if p, ok := s.(parent); ok {
		return p.Addresses(obj)
	}
	return nil
}

// appendNew appends s unless it is empty or already there.
func appendNew(out []string, s string) []string {
	if s == "" || slices.Contains(out, s) {
		return out
	}
	return append(out, s)
}

// listAt reads a list in place (objects come from a cache and are only
// read); anything else than a list reads as none.
func listAt(obj map[string]any, path ...string) []any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
	items, _ := v.([]any)
	return items
}
