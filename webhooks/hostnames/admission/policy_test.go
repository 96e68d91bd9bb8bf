package admission_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/atrium-dev/atrium/internal/testenv"
)

// gatekeeperLibraryTemplate reads a template that Gatekeeper's module ships
// from the Go module cache, so the test loads it exactly as published
// without a copy in this repository.
func gatekeeperLibraryTemplate(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/open-policy-agent/gatekeeper/v3@v3.23.1")
	cmd.Dir = t.TempDir() // outside the module: go.mod stays as it is
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("Gatekeeper's module is not available from the module proxy: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(mod.Dir, "test/gator/test/fixtures/policies/default", file))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestGatekeeperLibraryTemplateIsEnforced(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	if err := a.client().Create(ctx, gatekeeperLibraryTemplate(t, "template_k8srequiredlabels.yaml")); err != nil {
		t.Fatal(err)
	}
	constraint := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: sites-need-a-team
spec:
  match:
    kinds:
    - apiGroups: [networking.k8s.io]
      kinds: [Ingress]
    namespaces: [labelled]
  parameters:
    message: every site names its team
    labels:
    - key: team
`), &constraint.Object); err != nil {
		t.Fatal(err)
	}
	// The constraint kind exists once the template is loaded.
	if err := testenv.Eventually(ctx, 30*time.Second, func() error { return a.client().Create(ctx, constraint.DeepCopy()) }); err != nil {
		t.Fatal(err)
	}
	namespace(t, a, "labelled", nil)
	err := testenv.Eventually(ctx, 30*time.Second, func() error {
		err := a.client().Create(ctx, ingress("labelled", "anonymous", "anonymous.example.org"))
		if err == nil {
			_ = a.client().Delete(ctx, ingress("labelled", "anonymous"))
			return errString("admitted before the constraint was loaded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustDeny(t, a.client().Create(ctx, ingress("labelled", "anonymous", "anonymous.example.org")), "sites-need-a-team", "every site names its team")
	if _, err := claim(t, "anonymous.example.org"); err == nil {
		t.Fatal("a refused object claimed its hostname")
	}
	ok := ingress("labelled", "teamed", "teamed.example.org")
	ok.Labels = map[string]string{"team": "web"}
	if err := a.client().Create(ctx, ok); err != nil {
		t.Fatalf("labelled Ingress refused: %v", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
