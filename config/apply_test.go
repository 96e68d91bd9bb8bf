package config

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// The APIs the manifests use that Atrium does not serve, and the modules
// their CRDs are read from (never copied into the repository). These are
// the versions the manifests are written for; bump them here.
const (
	// cert-manager's Certificate and Issuer: the module ships its CRDs as
	// YAML (deploy/crds).
	certManagerModule = "github.com/cert-manager/cert-manager@v1.21.2"
	// The Prometheus operator's ServiceMonitor: the module holds the Go
	// types only, so the CRD is generated from them with controller-gen
	// (bin/), as the Prometheus operator generates it, and cached.
	prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring@v0.95.2"
)

// moduleInfo is what `go mod download -json` says of a module: its
// folder and zip in the module cache, and what went wrong.
type moduleInfo struct{ Dir, Zip, Error string }

// downloadModule downloads a module through the Go module proxy (or finds
// it in the module cache) with `go mod download -json`, and returns what
// the command says and its error: the callers judge which of the two
// matters (a module whose go.mod asks for a newer Go fails the command,
// but its zip is downloaded all the same).
func downloadModule(module string) (moduleInfo, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	// Outside any module, so this repository's go.mod is not involved.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info moduleInfo
	_ = json.Unmarshal(out, &info)
	return info, err
}

// moduleDir downloads a module through the Go module proxy (or finds it
// in the module cache) and returns its folder.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	info, err := downloadModule(module)
	if err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", module, err, info.Error)
	}
	return info.Dir
}

// externalCRDs are cert-manager's and the Prometheus operator's CRDs that
// the manifests need, from the pinned modules.
func externalCRDs(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var files []string
	certManager := moduleDir(t, certManagerModule)
	for _, name := range []string{"certificates", "issuers", "clusterissuers"} {
		files = append(files, filepath.Join(certManager, "deploy", "crds", "cert-manager.io_"+name+".yaml"))
	}
	files = append(files, serviceMonitorCRD(t))
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		objs, err := testenv.ReadObjects(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, crd)
		}
	}
	return out
}

// serviceMonitorCRD generates the ServiceMonitor CRD from the Prometheus
// operator's API module, once per version: it is cached in the user's cache
// folder (a few seconds the first time).
func serviceMonitorCRD(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "atrium", "crds", strings.ReplaceAll(prometheusOperatorModule, "/", "_"))
	file := filepath.Join(dir, "monitoring.coreos.com_servicemonitors.yaml")
	if _, err := os.Stat(file); err == nil {
		return file
	}
	src := moduleDir(t, prometheusOperatorModule)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "generating-")
	if err != nil && os.MkdirAll(filepath.Dir(dir), 0o755) == nil {
		tmp, err = os.MkdirTemp(filepath.Dir(dir), "generating-")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(filepath.Join(root, "bin", "controller-gen"), "crd", "paths=./v1", "output:crd:dir="+tmp)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen on %s (run `make tools` for bin/controller-gen): %v\n%s", prometheusOperatorModule, err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, filepath.Base(file))); err != nil {
		t.Fatalf("controller-gen wrote no ServiceMonitor CRD: %v", err)
	}
	// Renamed into place whole, so a cache is never half written.
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return file
}

// apiServer is one control plane for the tests of this package that need
// one, started by the first of them; TestMain stops it.
var apiServer struct {
	once sync.Once
	env  *testenv.Env
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if apiServer.env != nil {
		_ = apiServer.env.Stop()
	}
	os.Exit(code)
}

// controlPlane is a real API server serving Atrium's CRDs, the external
// CRDs and Gatekeeper's ConstraintTemplate CRD.
func controlPlane(t *testing.T) *testenv.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("needs an API server")
	}
	apiServer.once.Do(func() {
		crds := externalCRDs(t)
		root, err := testenv.RepoRoot()
		if err != nil {
			apiServer.err = err
			return
		}
		policy, err := shipped.Build(root, "config/crd/policy")
		if err != nil {
			apiServer.err = err
			return
		}
		gatekeeper, err := policy.CRDs()
		if err != nil {
			apiServer.err = err
			return
		}
		apiServer.env, apiServer.err = testenv.Start(testenv.Options{CRDs: append(crds, gatekeeper...)})
	})
	if apiServer.err != nil {
		t.Fatal(apiServer.err)
	}
	return apiServer.env
}

// warnings collects the API server's warnings (Pod Security's among them).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// TestOverlaysApplyToAnAPIServer sends every object of every variant
// (the overlays, the example fleet, the optional Components) to a real API
// server by server-side apply, dry run: each must be valid against the
// API server's schemas (cert-manager's and the Prometheus operator's
// too), pass its admission (Pod Security "restricted" on the
// Deployments' Pod templates, enforced on atrium-system), and draw no
// warning. Namespaces are created for real, so that what lives in them
// can be checked.
func TestOverlaysApplyToAnAPIServer(t *testing.T) {
	env := controlPlane(t)
	ctx := context.Background()
	w := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		t.Run(v.String(), func(t *testing.T) {
			m := buildVariant(t, v.base, v.components...)
			all := m.All()
			// Namespaces first and for real: a dry run stores nothing, and
			// a namespaced object needs its namespace.
			slices.SortStableFunc(all, func(a, b *unstructured.Unstructured) int {
				return rank(a) - rank(b)
			})
			for _, u := range all {
				if u.GetKind() == "Namespace" {
					if err := c.Create(ctx, u.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
						t.Errorf("Namespace %s: %v", u.GetName(), err)
					}
					continue
				}
				err := c.Patch(ctx, u.DeepCopy(), client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner("atrium-manifests-test"))
				if err != nil {
					t.Errorf("%s %s/%s does not apply: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
				}
				for _, text := range w.take() {
					t.Errorf("%s %s/%s: the API server warns: %s", u.GetKind(), u.GetNamespace(), u.GetName(), text)
				}
			}
		})
	}
}

func rank(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	}
	return 2
}

// TestOnlyPlatformAdminsMarkPlatformNamespaces: the label that takes a
// namespace out of hostname admission (atrium.dev/platform) is set only by
// those RBAC lets "platform" namespaces: a power user who may update
// namespaces cannot set or remove it, a platform admin can, and other
// label changes pass.
func TestOnlyPlatformAdminsMarkPlatformNamespaces(t *testing.T) {
	env := controlPlane(t)
	ctx := context.Background()
	m := buildVariant(t, "config/overlays/member")
	for _, u := range m.Of("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding") {
		if u.GetName() != "atrium-platform-namespaces" {
			continue
		}
		if err := env.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, u := range m.Of("ClusterRole") {
		if u.GetName() == "atrium:platform-admin" {
			if err := env.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
	if err := env.WaitForAdmissionPolicies(ctx); err != nil {
		t.Fatal(err)
	}
	// Both may update namespaces; only the admin holds atrium:platform-admin.
	editor := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "namespace-editor"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "update", "patch"}}},
	}
	bindings := []*rbacv1.ClusterRoleBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: "power-user-edits-namespaces"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: editor.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "power-user"}, {Kind: rbacv1.UserKind, Name: "platform-admin"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "platform-admin"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "atrium:platform-admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "platform-admin"}}},
	}
	for _, o := range []client.Object{editor, bindings[0], bindings[1]} {
		if err := env.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ingress-front", "already-platform"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if name == "already-platform" {
			ns.Labels = map[string]string{"atrium.dev/platform": "true"}
		}
		if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	label := func(user, namespace, key string, value *string) error {
		c, err := env.ClientAs(user)
		if err != nil {
			return err
		}
		patch := map[string]any{"metadata": map[string]any{"labels": map[string]any{key: value}}}
		b, _ := json.Marshal(patch)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		return c.Patch(ctx, ns, client.RawPatch("application/merge-patch+json", b), client.DryRunAll)
	}
	yes := "true"
	for _, tc := range []struct {
		user, namespace, key string
		value                *string
		allowed              bool
	}{
		{"power-user", "ingress-front", "atrium.dev/platform", &yes, false},
		{"power-user", "already-platform", "atrium.dev/platform", nil, false},
		{"power-user", "ingress-front", "team", &yes, true},
		{"power-user", "already-platform", "team", &yes, true},
		{"platform-admin", "ingress-front", "atrium.dev/platform", &yes, true},
		{"platform-admin", "already-platform", "atrium.dev/platform", nil, true},
	} {
		t.Run(fmt.Sprintf("%s sets %s on %s", tc.user, tc.key, tc.namespace), func(t *testing.T) {
			err := label(tc.user, tc.namespace, tc.key, tc.value)
			switch {
			case tc.allowed && err != nil:
				t.Errorf("refused: %v", err)
			case !tc.allowed && err == nil:
				t.Errorf("admitted")
			case !tc.allowed && !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err):
				t.Errorf("refused, but not by the policy: %v", err)
			case !tc.allowed && !strings.Contains(err.Error(), "atrium.dev/platform"):
				t.Errorf("refused with a message that does not name the label: %v", err)
			}
		})
	}
}
