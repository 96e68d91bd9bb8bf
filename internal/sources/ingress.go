package sources

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The kind's admission by the hostnames webhook, and the right to read it
// (the webhook's releaser and the DNS operator).
// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=networking.k8s.io,resources=ingresses,verbs=create;update,versions=v1,name=ingresses.hostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch

// ingress reads spec.rules[].host and spec.tls[].hosts[] of an Ingress.
type ingress struct{}

func init() { Register(ingress{}) }

func (ingress) Kind() Kind {
	return Kind{GroupVersionKind: schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}, Resource: "ingresses"}
}

func (ingress) AllowsWildcards() bool { return true }

func (ingress) Hostnames(obj *unstructured.Unstructured) ([]string, error) {
	var out []string
	err := eachItem(obj.Object, func(rule map[string]any) error {
		if h, ok := rule["host"].(string); ok && h != "" {
			out = append(out, h)
		}
		return nil
	}, "spec", "rules")
	if err != nil {
		return nil, err
	}
	err = eachItem(obj.Object, func(tls map[string]any) error {
		hosts, err := stringsAt(tls, "hosts")
		out = append(out, hosts...)
		return err
	}, "spec", "tls")
	return out, err
}

func (ingress) CatchAll(obj *unstructured.Unstructured) (string, error) {
	if _, found, err := unstructured.NestedFieldNoCopy(obj.Object, "spec", "defaultBackend"); err != nil || found {
		return "spec.defaultBackend serves every hostname that no rule names", err
	}
	what, i := "", 0
	err := eachItem(obj.Object, func(rule map[string]any) error {
		if h, _ := rule["host"].(string); h == "" && what == "" {
			what = fmt.Sprintf("spec.rules[%d] has no host, so it serves every hostname", i)
		}
		i++
		return nil
	}, "spec", "rules")
	return what, err
}

// targetsFromOwnStatus: Targets reads the status alone (SlimRecords).
func (ingress) targetsFromOwnStatus() {}

// Targets are the addresses of the Ingress's load balancer.
func (ingress) Targets(obj *unstructured.Unstructured, _ Fronts) []string {
	var out []string
	for _, it := range listAt(obj.Object, "status", "loadBalancer", "ingress") {
		if m, ok := it.(map[string]any); ok {
			ip, _ := m["ip"].(string)
			host, _ := m["hostname"].(string)
			out = appendNew(appendNew(out, ip), host)
		}
	}
	return out
}
