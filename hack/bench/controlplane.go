package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/testenv"
)

// controlPlaneRuns is how many times each start is measured; the median
// is reported.
const controlPlaneRuns = 3

// benchControlPlane measures what kube-controller-manager costs the tests:
// how long a test control plane takes to start with and without it, and
// how long a deleted namespace holding objects takes to be gone with it.
func benchControlPlane(config) (string, error) {
	ctx := context.Background()
	var without, with, nsGone []time.Duration
	for i := 0; i < controlPlaneRuns; i++ {
		start := time.Now()
		env, err := testenv.Start(testenv.Options{NoControllerManager: true})
		if err != nil {
			return "", err
		}
		without = append(without, time.Since(start))
		_ = env.Stop()

		start = time.Now()
		env, err = testenv.Start(testenv.Options{})
		if err != nil {
			return "", err
		}
		with = append(with, time.Since(start))
		d, err := namespaceDeletion(ctx, env.Client, fmt.Sprintf("bench-%d", i))
		_ = env.Stop()
		if err != nil {
			return "", err
		}
		nsGone = append(nsGone, d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Medians of %d runs, each on a fresh control plane.\n\n", controlPlaneRuns)
	b.WriteString("| what | time |\n|---|---|\n")
	fmt.Fprintf(&b, "| start: etcd + kube-apiserver, CRDs installed | %s |\n", fmtDur(median(without)))
	fmt.Fprintf(&b, "| start: the same + kube-controller-manager acting (admin role aggregated, default ServiceAccount made) | %s |\n", fmtDur(median(with)))
	fmt.Fprintf(&b, "| a deleted namespace holding 20 ConfigMaps, from delete to gone | %s |\n", fmtDur(median(nsGone)))
	return b.String(), nil
}

// namespaceDeletion creates a namespace with some objects, deletes it and
// times until the API server no longer has it.
func namespaceDeletion(ctx context.Context, c client.Client, name string) (time.Duration, error) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		return 0, err
	}
	for i := 0; i < 20; i++ {
		if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: name}}); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		return 0, err
	}
	err := testenv.Eventually(ctx, 2*time.Minute, func() error {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s still there (%v)", name, err)
		}
		return nil
	})
	return time.Since(start), err
}
