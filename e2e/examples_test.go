package e2e

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/testenv"
)

// TestExamplesApplyCleanly sends every object of docs/examples to the API
// server (dry run, admission included) as the person who would create it:
// Projects as a casual user, everything else as an admin. Objects the suite
// created already count as applied.
func TestExamplesApplyCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join(f.env.Root, "docs", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	user, err := f.env.ClientAs("example-reader")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		objs, err := testenv.ReadObjects(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			c := f.env.Client
			switch {
			case u.GetKind() == "Project":
				c = user
			case u.GetNamespace() != "":
				// The example's namespace comes from an example Project that
				// another story creates; check the object in a namespace of
				// its own.
				ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "examples-check"}}
				if err := f.env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatal(err)
				}
				u.SetNamespace(ns.Name)
			}
			err := c.Create(ctx, u, client.DryRunAll)
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("%s: %s %s does not apply: %v", filepath.Base(file), u.GetKind(), u.GetName(), err)
			}
		}
	}
}
