package sources

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

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
