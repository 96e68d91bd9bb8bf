package sources

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/atrium-dev/atrium/internal/hostname"
)

// The kind's admission by the hostnames webhook, and the right to read it
// (the webhook's releaser and the DNS operator).
// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=externaldns.k8s.io,resources=dnsendpoints,verbs=create;update,versions=v1alpha1,name=dnsendpoints.hostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:rbac:groups=externaldns.k8s.io,resources=dnsendpoints,verbs=get;list;watch

// dnsEndpoint reads spec.endpoints[].dnsName of an external-dns DNSEndpoint.
type dnsEndpoint struct{}

func init() { Register(dnsEndpoint{}) }

func (dnsEndpoint) Kind() Kind {
	return Kind{GroupVersionKind: schema.GroupVersionKind{Group: "externaldns.k8s.io", Version: "v1alpha1", Kind: "DNSEndpoint"}, Resource: "dnsendpoints"}
}

func (dnsEndpoint) AllowsWildcards() bool { return true }

func (dnsEndpoint) Hostnames(obj *unstructured.Unstructured) ([]string, error) {
	var out []string
	err := eachItem(obj.Object, func(ep map[string]any) error {
		if n, ok := ep["dnsName"].(string); ok && n != "" {
			out = append(out, n)
		}
		return nil
	}, "spec", "endpoints")
	return out, err
}

// A DNSEndpoint publishes exactly the names it lists.
func (dnsEndpoint) CatchAll(*unstructured.Unstructured) (string, error) { return "", nil }

// tenantRecordTypes are the record types a tenant's DNSEndpoint may ask
// for: what the DNS operator publishes. Delegations (NS), zone data (SOA)
// and the rest would let one tenant's records reach past its own names.
var tenantRecordTypes = []string{"A", "AAAA", "CNAME"}

// TenantRefusal says what of a DNSEndpoint a tenant may not ask for: a
// record type other than A, AAAA or CNAME.
func (dnsEndpoint) TenantRefusal(obj *unstructured.Unstructured) (string, error) {
	what, i := "", 0
	err := eachItem(obj.Object, func(ep map[string]any) error {
		if t, _ := ep["recordType"].(string); what == "" && t != "" && !slices.Contains(tenantRecordTypes, strings.ToUpper(t)) {
			what = fmt.Sprintf("spec.endpoints[%d] asks for a %s record; a Project's DNSEndpoints publish %s records only", i, t, strings.Join(tenantRecordTypes, ", "))
		}
		i++
		return nil
	}, "spec", "endpoints")
	return what, err
}

// Records are the endpoints as given: names, types (upper case), targets
// and TTLs. Which types are published is the publisher's to say.
func (dnsEndpoint) Records(obj *unstructured.Unstructured) ([]Record, []Invalid, error) {
	var out []Record
	var invalid []Invalid
	for _, it := range listAt(obj.Object, "spec", "endpoints") {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["dnsName"].(string)
		typ, _ := m["recordType"].(string)
		h, err := hostname.Normalize(name, hostname.Options{AllowWildcard: true})
		if err != nil {
			invalid = append(invalid, Invalid{Raw: name, Err: err})
			continue
		}
		targets, _, _ := unstructured.NestedStringSlice(m, "targets")
		ttl, _, _ := unstructured.NestedInt64(m, "recordTTL")
		out = append(out, Record{Host: h, Type: strings.ToUpper(typ), Targets: targets, TTL: ttl})
	}
	return out, invalid, nil
}
