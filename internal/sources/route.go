package sources

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The kind's admission by the hostnames webhook, and the right to read it
// (the webhook's releaser and the DNS operator).
// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=route.openshift.io,resources=routes,verbs=create;update,versions=v1,name=routes.hostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes,verbs=get;list;watch

// route reads spec.host of an OpenShift Route. A Route with
// spec.wildcardPolicy Subdomain serves every name under its host's parent,
// which is claimed as that wildcard.
type route struct{}

func init() { Register(route{}) }

func (route) Kind() Kind {
	return Kind{GroupVersionKind: schema.GroupVersionKind{Group: "route.openshift.io", Version: "v1", Kind: "Route"}, Resource: "routes"}
}

func (route) AllowsWildcards() bool { return true }

func (route) Hostnames(obj *unstructured.Unstructured) ([]string, error) {
	host, _, err := unstructured.NestedString(obj.Object, "spec", "host")
	if err != nil || host == "" {
		return nil, err
	}
	policy, _, _ := unstructured.NestedString(obj.Object, "spec", "wildcardPolicy")
	if policy == "Subdomain" {
		if _, parent, ok := strings.Cut(host, "."); ok {
			return []string{"*." + parent}, nil
		}
	}
	return []string{host}, nil
}

func (route) CatchAll(obj *unstructured.Unstructured) (string, error) {
	sub, _, err := unstructured.NestedString(obj.Object, "spec", "subdomain")
	if err != nil || sub == "" {
		return "", err
	}
	return "spec.subdomain leaves the hostname to the router shard that admits the Route, so it cannot be claimed; set spec.host", nil
}

// targetsFromOwnStatus: Targets reads the status alone (SlimRecords).
func (route) targetsFromOwnStatus() {}

// Targets are the canonical hostnames of the routers that admitted the
// Route.
func (route) Targets(obj *unstructured.Unstructured, _ Fronts) []string {
	var out []string
	for _, it := range listAt(obj.Object, "status", "ingress") {
		if m, ok := it.(map[string]any); ok {
			host, _ := m["routerCanonicalHostname"].(string)
			out = appendNew(out, host)
		}
	}
	return out
}
