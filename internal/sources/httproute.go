package sources

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The kind's admission by the hostnames webhook, and the right to read it
// (the webhook's releaser and the DNS operator).
// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=gateway.networking.k8s.io,resources=httproutes,verbs=create;update,versions=v1,name=httproutes.hostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch

// httpRoute reads spec.hostnames of a Gateway API HTTPRoute.
type httpRoute struct{}

func init() { Register(httpRoute{}) }

func (httpRoute) Kind() Kind {
	return Kind{GroupVersionKind: schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}, Resource: "httproutes"}
}

func (httpRoute) AllowsWildcards() bool { return true }

func (httpRoute) Hostnames(obj *unstructured.Unstructured) ([]string, error) {
	return stringsAt(obj.Object, "spec", "hostnames")
}

func (httpRoute) CatchAll(obj *unstructured.Unstructured) (string, error) {
	hosts, err := stringsAt(obj.Object, "spec", "hostnames")
	if err != nil || len(hosts) > 0 {
		return "", err
	}
	return "spec.hostnames is empty, so the route takes every hostname of its parent Gateways' listeners", nil
}

// Targets are the addresses of the Gateways the route attaches to: an
// HTTPRoute's status names no address, its parents' statuses do.
func (httpRoute) Targets(obj *unstructured.Unstructured, fronts Fronts) []string {
	gateways := fronts.Parents[gateway{}.Kind().GroupKind()]
	var out []string
	for _, it := range listAt(obj.Object, "spec", "parentRefs") {
		if m, ok := it.(map[string]any); ok {
			if key, ok := gatewayKey(m, obj.GetNamespace()); ok {
				for _, a := range gateways[key] {
					out = appendNew(out, a)
				}
			}
		}
	}
	return out
}

// gatewayKey returns "namespace/name" of the Gateway a parentRef names; the
// group and kind default to the Gateway API's Gateway, the namespace to the
// route's.
func gatewayKey(ref map[string]any, routeNamespace string) (string, bool) {
	gk := gateway{}.Kind()
	group, hasGroup := ref["group"].(string)
	kind, hasKind := ref["kind"].(string)
	if (hasGroup && group != gk.Group) || (hasKind && kind != gk.GroupVersionKind.Kind) {
		return "", false
	}
	name, _ := ref["name"].(string)
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = routeNamespace
	}
	return ns + "/" + name, name != ""
}
