package policy

import (
	"context"
	"fmt"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// requiredLabelsTemplate is a required-labels template in the
// gatekeeper-library format: v1, Rego v0 in spec.targets[].rego, parameters
// described by an OpenAPI schema.
const requiredLabelsTemplate = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
  annotations:
    description: Requires objects to carry labels, optionally with values matching a regular expression.
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredLabels
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels:
              type: array
              items:
                type: object
                properties:
                  key:
                    type: string
                  allowedRegex:
                    type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredlabels

        violation[{"msg": msg}] {
          required := input.parameters.labels[_]
          not input.review.object.metadata.labels[required.key]
          msg := sprintf("%v must carry label %v", [input.review.kind.kind, required.key])
        }

        violation[{"msg": msg}] {
          required := input.parameters.labels[_]
          value := input.review.object.metadata.labels[required.key]
          required.allowedRegex != ""
          not regex.match(required.allowedRegex, value)
          msg := sprintf("label %v=%v does not match %v", [required.key, value, required.allowedRegex])
        }
`

// fromYAML parses one Kubernetes object.
func fromYAML(t testing.TB, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatalf("parsing YAML: %v\n%s", err, y)
	}
	return u
}

// requiredLabelsConstraint requires label "owner" (lower-case letters only)
// of the objects selected by match, a YAML mapping; "" matches everything.
func requiredLabelsConstraint(t testing.TB, name, match, action string) *unstructured.Unstructured {
	t.Helper()
	u := fromYAML(t, `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: `+name+`
spec:
  parameters:
    labels:
    - key: owner
      allowedRegex: "^[a-z]+$"
`)
	if match != "" {
		m := fromYAML(t, match)
		if err := unstructured.SetNestedMap(u.Object, m.Object, "spec", "match"); err != nil {
			t.Fatal(err)
		}
	}
	if action != "" {
		if err := unstructured.SetNestedField(u.Object, action, "spec", "enforcementAction"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// newEngine returns an Engine holding templates and constraints.
func newEngine(t testing.TB, objects ...*unstructured.Unstructured) *Engine {
	t.Helper()
	ctx := context.Background()
	e, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		switch o.GetAPIVersion() {
		case "templates.gatekeeper.sh/v1":
			err = e.AddTemplate(ctx, o)
		case "constraints.gatekeeper.sh/v1beta1":
			err = e.AddConstraint(ctx, o)
		default:
			err = e.AddData(ctx, o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

var ingressGVK = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"}

// ingress returns a networking.k8s.io/v1 Ingress with the given labels
// (key=value pairs) and rule hosts.
func ingress(namespace, name string, labels map[string]string, hosts ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ingressGVK)
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetLabels(labels)
	var rules []interface{}
	for _, h := range hosts {
		rules = append(rules, map[string]interface{}{"host": h})
	}
	if rules != nil {
		_ = unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
	}
	return u
}

// create is the admission request creating obj.
func create(obj *unstructured.Unstructured) Request {
	return Request{
		Operation: admissionv1.Create,
		Object:    obj,
		GVK:       obj.GroupVersionKind(),
		Namespace: obj.GetNamespace(),
		Name:      obj.GetName(),
	}
}

// summary renders violations compactly for comparison.
func summary(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s %s/%s: %s", v.EnforcementAction, v.ConstraintKind, v.ConstraintName, v.Message))
	}
	return out
}
