package policy

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The gatekeeper-library k8suniqueingresshost template as shipped in
// Gatekeeper's own test fixtures. The module is only downloaded into the
// module cache at test time, not required by go.mod.
const (
	gatekeeperModule       = "github.com/open-policy-agent/gatekeeper/v3@v3.23.1"
	uniqueIngressHostFile  = "test/gator/test/fixtures/policies/default/template_k8suniqueingresshost.yaml"
	uniqueIngressHostKind  = "K8sUniqueIngressHost"
	uniqueIngressHostRules = `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sUniqueIngressHost
metadata:
  name: unique-ingress-host
spec:
  match:
    kinds:
    - apiGroups: [extensions, networking.k8s.io]
      kinds: [Ingress]
`
)

var gatekeeperDir = sync.OnceValues(func() (string, error) {
	// Run outside this module, so that its go.mod and go.sum stay untouched.
	tmp, err := os.MkdirTemp("", "policy-test-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", gatekeeperModule)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", &downloadError{err, string(out) + string(ee.Stderr)}
		}
		return "", err
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Error != "" || m.Dir == "" {
		return "", &downloadError{nil, m.Error}
	}
	return m.Dir, nil
})

type downloadError struct {
	err    error
	output string
}

func (e *downloadError) Error() string {
	if e.err == nil {
		return e.output
	}
	return e.err.Error() + ": " + e.output
}

// uniqueIngressHostTemplate reads the template unchanged, skipping the test if
// the Gatekeeper module cannot be downloaded.
func uniqueIngressHostTemplate(t testing.TB) *unstructured.Unstructured {
	t.Helper()
	dir, err := gatekeeperDir()
	if err != nil {
		t.Skipf("skipping: cannot download %s to read the gatekeeper-library template: %v", gatekeeperModule, err)
	}
	y, err := os.ReadFile(filepath.Join(dir, uniqueIngressHostFile))
	if err != nil {
		t.Fatal(err)
	}
	return fromYAML(t, string(y))
}

func TestUniqueIngressHost(t *testing.T) {
	ctx := context.Background()
	existing := ingress("team-a", "shop", nil, "shop.example.com")
	e := newEngine(t, uniqueIngressHostTemplate(t), fromYAML(t, uniqueIngressHostRules), existing)
	conflict := []string{"deny K8sUniqueIngressHost/unique-ingress-host: ingress host conflicts with an existing ingress <shop.example.com>"}

	update := create(ingress("team-a", "shop", nil, "shop.example.com", "www.example.com"))
	update.Operation, update.OldObject = admissionv1.Update, existing

	for _, tc := range []struct {
		name string
		req  Request
		want []string
	}{
		{"same host in another namespace is denied",
			create(ingress("team-b", "shop", nil, "shop.example.com")), conflict},
		{"same host in the same namespace is denied",
			create(ingress("team-a", "shop-copy", nil, "www.example.com", "shop.example.com")), conflict},
		{"different host is allowed",
			create(ingress("team-b", "blog", nil, "blog.example.com")), nil},
		{"the existing ingress may keep its host",
			update, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Review(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(summary(got), tc.want) {
				t.Errorf("got %q, want %q", summary(got), tc.want)
			}
		})
	}

	t.Run("host is free once the ingress is removed from the inventory", func(t *testing.T) {
		if err := e.RemoveData(ctx, existing); err != nil {
			t.Fatal(err)
		}
		got, err := e.Review(ctx, create(ingress("team-b", "shop", nil, "shop.example.com")))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("got %q, want no violations", summary(got))
		}
	})
}
