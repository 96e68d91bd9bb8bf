package policy

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentReview runs many reviews at once while constraints,
// templates and inventory change underneath; run it with -race. A constraint
// that stays in place must give the same answer throughout.
func TestConcurrentReview(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, fromYAML(t, requiredLabelsTemplate), requiredLabelsConstraint(t, "stable", ingressesOnly, ""))
	flapping := requiredLabelsConstraint(t, "flapping", "namespaceSelector: {matchLabels: {tier: prod}}", "warn")

	var writers sync.WaitGroup
	stop := make(chan struct{})
	writers.Go(func() {
		churn(t, stop, func(i int) error { return e.AddConstraint(ctx, flapping) }, func(i int) error { return e.RemoveConstraint(ctx, "K8sRequiredLabels", "flapping") })
	})
	writers.Go(func() {
		ns := namespaceObject("team-a", map[string]string{"tier": "prod"})
		churn(t, stop, func(i int) error { return e.AddData(ctx, ns) }, func(i int) error { return e.RemoveData(ctx, ns) })
	})
	writers.Go(func() {
		add := func(i int) error {
			return e.AddData(ctx, ingress(fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("ing-%d", i), nil, fmt.Sprintf("h%d.example.com", i)))
		}
		remove := func(i int) error {
			return e.RemoveData(ctx, ingress(fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("ing-%d", i), nil))
		}
		churn(t, stop, add, remove)
	})
	writers.Go(func() {
		echo := fromYAML(t, echoTemplate)
		churn(t, stop, func(int) error { return e.AddTemplate(ctx, echo) }, func(int) error { return e.RemoveTemplate(ctx, "k8secho") })
	})

	var readers sync.WaitGroup
	for g := range 16 {
		readers.Go(func() {
			for i := range 100 {
				labelled := (g+i)%2 == 0
				var labels map[string]string
				if labelled {
					labels = map[string]string{"owner": "shop"}
				}
				got, err := e.Review(ctx, create(ingress("team-a", fmt.Sprintf("web-%d-%d", g, i), labels)))
				if err != nil {
					t.Error(err)
					return
				}
				if n := countDenies(got); (labelled && n != 0) || (!labelled && n != 1) {
					t.Errorf("labelled=%v: got %q, want exactly %d deny", labelled, summary(got), map[bool]int{true: 0, false: 1}[labelled])
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writers.Wait()
}

// churn alternates add and remove until stop is closed.
func churn(t *testing.T, stop <-chan struct{}, add, remove func(int) error) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		op := add
		if i%2 == 1 {
			op = remove
		}
		if err := op(i / 2); err != nil {
			t.Error(err)
			return
		}
	}
}

func countDenies(vs []Violation) int {
	n := 0
	for _, v := range vs {
		if v.EnforcementAction == Deny {
			n++
		}
	}
	return n
}
