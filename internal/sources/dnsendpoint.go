package sources

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

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
