package sources

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The kind's admission by the hostnames webhook, and the right to read it
// (the webhook's releaser and the DNS operator).
// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=gateway.networking.k8s.io,resources=gateways,verbs=create;update,versions=v1,name=gateways.hostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch

// gateway reads spec.listeners[].hostname of a Gateway API Gateway. A
// listener's hostname is the name its routes may serve, so a tenant's
// Gateway claims it like any hostname; the records are published for the
// HTTPRoutes that use the listener, not for the Gateway itself
// (ClaimOnly). The platform's shared Gateways, outside Projects, are
// infrastructure whose listeners ("*.web.example.org") the tenants'
// HTTPRoutes attach to with hostnames of their own: they claim nothing
// (TenantOnly), or no tenant could claim a name under them.
type gateway struct{}

func init() { Register(gateway{}) }

func (gateway) Kind() Kind {
	return Kind{GroupVersionKind: schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}, Resource: "gateways"}
}

func (gateway) AllowsWildcards() bool { return true }

func (gateway) ClaimOnly() bool { return true }

func (gateway) TenantOnly() bool { return true }

func (gateway) Hostnames(obj *unstructured.Unstructured) ([]string, error) {
	var out []string
	err := eachItem(obj.Object, func(l map[string]any) error {
		if h, ok := l["hostname"].(string); ok && h != "" {
			out = append(out, h)
		}
		return nil
	}, "spec", "listeners")
	return out, err
}

func (gateway) CatchAll(obj *unstructured.Unstructured) (string, error) {
	what, i := "", 0
	err := eachItem(obj.Object, func(l map[string]any) error {
		h, _ := l["hostname"].(string)
		switch p, _ := l["protocol"].(string); {
		case what != "":
		case h == "" && (p == "HTTP" || p == "HTTPS" || p == "TLS" || p == ""):
			name, _ := l["name"].(string)
			what = fmt.Sprintf("spec.listeners[%d] (%s) has no hostname, so it serves every hostname", i, name)
		}
		i++
		return nil
	}, "spec", "listeners")
	return what, err
}

// Addresses reads status.addresses of a Gateway, IP addresses and
// hostnames alike: where its HTTPRoutes' hostnames point.
func (gateway) Addresses(obj *unstructured.Unstructured) []string {
	var out []string
	for _, it := range listAt(obj.Object, "status", "addresses") {
		if m, ok := it.(map[string]any); ok {
			v, _ := m["value"].(string)
			out = appendNew(out, v)
		}
	}
	return out
}
