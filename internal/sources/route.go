package sources

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

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
