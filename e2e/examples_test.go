package e2e

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
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
				// another story creates; check the object in a Project's
				// namespace of its own (OpenStackVolumes live only there).
				u.SetNamespace(examplesProject(ctx, t))
			}
			err := c.Create(ctx, u, client.DryRunAll)
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("%s: %s %s does not apply: %v", filepath.Base(file), u.GetKind(), u.GetName(), err)
			}
		}
	}
}

var examplesOnce sync.Once

// examplesProject is the Project whose namespace the namespaced examples
// are checked in, created once by a casual user.
func examplesProject(ctx context.Context, t *testing.T) string {
	t.Helper()
	const name = "examples-check"
	examplesOnce.Do(func() {
		user, err := f.env.ClientAs("example-checker")
		if err != nil {
			t.Fatal(err)
		}
		if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		waitReady(ctx, t, name, time.Minute)
	})
	return name
}
