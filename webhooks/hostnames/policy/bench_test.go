package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// BenchmarkReview measures one admission review of an Ingress that violates
// nothing, so that every matching template is evaluated in full.
func BenchmarkReview(b *testing.B) {
	allowed := create(ingress("team-a", "web", map[string]string{"owner": "shop"}, "new.example.com"))

	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("requiredLabels/templates=%d", n), func(b *testing.B) {
			benchmarkReview(b, newEngine(b, requiredLabelsCopies(b, n)...), allowed)
		})
	}
	// spec.match runs before any Rego: constraints that do not match cost
	// little however many there are.
	b.Run("requiredLabels/templates=100/matching=0", func(b *testing.B) {
		service := create(ingress("team-a", "web", nil))
		service.GVK = service.GVK.GroupVersion().WithKind("Service")
		benchmarkReview(b, newEngine(b, requiredLabelsCopies(b, 100)...), service)
	})
	b.Run("uniqueIngressHost/inventory=10000", func(b *testing.B) {
		objects := []*unstructured.Unstructured{uniqueIngressHostTemplate(b), fromYAML(b, uniqueIngressHostRules)}
		for i := range 10000 {
			objects = append(objects, ingress(fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("ing-%d", i), nil, fmt.Sprintf("h%d.example.com", i)))
		}
		benchmarkReview(b, newEngine(b, objects...), allowed)
	})
}

func benchmarkReview(b *testing.B, e *Engine, req Request) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, err := e.Review(ctx, req)
		if err != nil || len(got) != 0 {
			b.Fatalf("Review = %q, %v; want no violations", summary(got), err)
		}
	}
}

// requiredLabelsCopies returns n distinct copies of the required-labels
// template, each with one constraint on Ingresses.
func requiredLabelsCopies(b *testing.B, n int) []*unstructured.Unstructured {
	var objects []*unstructured.Unstructured
	for i := range n {
		suffix := fmt.Sprintf("%03d", i)
		y := strings.ReplaceAll(requiredLabelsTemplate, "k8srequiredlabels", "k8srequiredlabels"+suffix)
		y = strings.ReplaceAll(y, "K8sRequiredLabels", "K8sRequiredLabels"+suffix)
		c := requiredLabelsConstraint(b, "c", ingressesOnly, "")
		c.SetKind("K8sRequiredLabels" + suffix)
		objects = append(objects, fromYAML(b, y), c)
	}
	return objects
}
