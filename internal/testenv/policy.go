package testenv

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// forbiddenHostsTemplate is a Gatekeeper ConstraintTemplate that refuses
// the Ingress hostnames its constraints list, for tests of the hostnames
// webhook's Rego.
const forbiddenHostsTemplate = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: atriumforbiddenhosts
spec:
  crd:
    spec:
      names:
        kind: AtriumForbiddenHosts
      validation:
        openAPIV3Schema:
          type: object
          properties:
            hosts:
              type: array
              items:
                type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package atriumforbiddenhosts

        violation[{"msg": msg}] {
          host := input.review.object.spec.rules[_].host
          host == input.parameters.hosts[_]
          msg := sprintf("hostname %v is forbidden", [host])
        }
`

// ForbiddenHostsTemplate is a ConstraintTemplate whose constraints
// (ForbiddenHosts) refuse Ingresses with the hostnames they list.
func ForbiddenHostsTemplate() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(forbiddenHostsTemplate), &u.Object); err != nil {
		panic(err)
	}
	return u
}

// ForbiddenHosts is a constraint of ForbiddenHostsTemplate refusing
// Ingresses with the hostnames.
func ForbiddenHosts(name string, hosts ...string) *unstructured.Unstructured {
	list := make([]any, len(hosts))
	for i, h := range hosts {
		list[i] = h
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "AtriumForbiddenHosts",
		"spec": map[string]any{
			"match":      map[string]any{"kinds": []any{map[string]any{"apiGroups": []any{"networking.k8s.io"}, "kinds": []any{"Ingress"}}}},
			"parameters": map[string]any{"hosts": list},
		},
	}}
	u.SetName(name)
	return u
}
