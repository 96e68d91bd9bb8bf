package migrate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/migrate"
	"github.com/atrium-dev/atrium/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.MainWithEnv(m, &env, testenv.Options{NoControllerManager: true})
}

const group = "migrate.test.atrium.dev"

// widgetCRD is a CRD of kind Widget (namespaced, status subresource)
// serving the given versions with the same schema, stored as storage.
func widgetCRD(plural string, versions []string, storage string) *apiextensionsv1.CustomResourceDefinition {
	schema := &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"size": {Type: "integer"},
			}},
			"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"seen": {Type: "integer"},
			}},
		},
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: plural, Singular: strings.TrimSuffix(plural, "s"),
				Kind: "Widget", ListKind: "WidgetList",
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter},
		},
	}
	for _, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: v == storage,
			Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: schema},
			Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
		})
	}
	return crd
}

// setCRD creates or replaces the CRD's spec and waits until the API
// server serves every version it names.
func setCRD(t *testing.T, ctx context.Context, want *apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(want), cur); err != nil {
			return env.Client.Create(ctx, want.DeepCopy())
		}
		cur.Spec = want.Spec
		return env.Client.Update(ctx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range want.Spec.Versions {
		waitFor(t, ctx, "version "+v.Name+" served", func() bool {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: v.Name, Kind: want.Spec.Names.ListKind})
			return env.Client.List(ctx, l, client.Limit(1)) == nil
		})
	}
}

func storedVersions(t *testing.T, ctx context.Context, name string) []string {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatal(err)
	}
	return crd.Status.StoredVersions
}

// storedAs is the apiVersion each object of the resource is stored in.
func storedAs(t *testing.T, ctx context.Context, plural string) map[string]string {
	t.Helper()
	out, err := env.StoredAPIVersions(ctx, group, plural)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func widget(version, ns, name string, size int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/" + version,
		"kind":       "Widget",
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec":       map[string]any{"size": size},
	}}
	return u
}

func namespace(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func needEnv(t *testing.T) {
	if env == nil {
		t.Skip("needs a control plane (not with -short)")
	}
}

func newMigrator(t *testing.T, crds ...string) *migrate.Migrator {
	t.Helper()
	m, err := migrate.New(env.Config, env.Scheme, crds...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot is what a user relies on of each object: UID, generation,
// spec and status, by namespace/name.
func snapshot(t *testing.T, ctx context.Context, version string) map[string]string {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: version, Kind: "WidgetList"})
	if err := env.Client.List(ctx, l); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range l.Items {
		b, _ := json.Marshal([]any{u.GetUID(), u.GetGeneration(), u.Object["spec"], u.Object["status"]})
		out[u.GetNamespace()+"/"+u.GetName()] = string(b)
	}
	return out
}

// TestMigrationRewritesEveryObject: 300 objects (more than one page)
// stored as v1; the CRD then stores v2. One pass leaves every object
// stored as v2 in etcd, unchanged as users see it, and storedVersions is
// [v2]; moving the storage back to v1 is the same path.
func TestMigrationRewritesEveryObject(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const plural = "widgets"
	crd := widgetCRD(plural, []string{"v1"}, "v1")
	setCRD(t, ctx, crd)
	for _, ns := range []string{"mig-a", "mig-b"} {
		namespace(t, ctx, ns)
		for i := range 150 {
			w := widget("v1", ns, fmt.Sprintf("w-%03d", i), int64(i))
			if err := env.Client.Create(ctx, w); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 { // some with status, which the rewrite must keep
				w.Object["status"] = map[string]any{"seen": int64(i)}
				if err := env.Client.Status().Update(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	before := snapshot(t, ctx, "v1")
	for k, v := range storedAs(t, ctx, plural) {
		if v != group+"/v1" {
			t.Fatalf("%s stored as %s before the change", k, v)
		}
	}

	setCRD(t, ctx, widgetCRD(plural, []string{"v1", "v2"}, "v2"))
	if got := storedVersions(t, ctx, crd.Name); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Fatalf("storedVersions %v after adding v2, want [v1 v2]", got)
	}
	m := newMigrator(t, crd.Name)
	if _, err := m.Once(ctx, crd.Name); err != nil {
		t.Fatal(err)
	}
	if got := storedVersions(t, ctx, crd.Name); !slices.Equal(got, []string{"v2"}) {
		t.Fatalf("storedVersions %v, want [v2]", got)
	}
	stored := storedAs(t, ctx, plural)
	if len(stored) != 300 {
		t.Fatalf("%d objects in etcd, want 300", len(stored))
	}
	for k, v := range stored {
		if v != group+"/v2" {
			t.Errorf("%s still stored as %s", k, v)
		}
	}
	if after := snapshot(t, ctx, "v1"); !mapsEqual(before, after) {
		t.Fatal("the migration changed what users see of the objects")
	}
	// v1 can now be dropped from the CRD: the API server allows it only
	// because storedVersions no longer lists it.
	setCRD(t, ctx, widgetCRD(plural, []string{"v2"}, "v2"))
	if after := snapshot(t, ctx, "v2"); !mapsEqual(before, after) {
		t.Fatal("objects read as v2 differ from what they were as v1")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRefusedRewriteKeepsTheOldStoredVersion: when one object cannot be
// rewritten (here an admission policy refuses its updates), every other
// object is still rewritten, storedVersions keeps the old version (so the
// API server keeps refusing to drop it), and the error names the object.
// Once the object can be written, the next pass finishes.
func TestRefusedRewriteKeepsTheOldStoredVersion(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const plural = "gadgets"
	crd := widgetCRD(plural, []string{"v1"}, "v1")
	crd.Spec.Names.Kind, crd.Spec.Names.ListKind = "Gadget", "GadgetList"
	setCRD(t, ctx, crd)
	namespace(t, ctx, "mig-refused")
	for _, name := range []string{"ok-1", "stuck", "ok-2"} {
		g := widget("v1", "mig-refused", name, 1)
		g.SetKind("Gadget")
		if err := env.Client.Create(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-stuck-gadget"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{plural}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "object.metadata.name != 'stuck'", Message: "stuck is frozen"}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-stuck-gadget"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	for _, o := range []client.Object{policy, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	stuck := widget("v1", "mig-refused", "stuck", 1)
	stuck.SetKind("Gadget")
	waitFor(t, ctx, "the policy to refuse updates of stuck", func() bool {
		cur := stuck.DeepCopy()
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cur), cur); err != nil {
			return false
		}
		err := env.Client.Update(ctx, cur)
		return err != nil && strings.Contains(err.Error(), "stuck is frozen")
	})

	setCRD(t, ctx, withVersions(crd, []string{"v1", "v2"}, "v2"))
	m := newMigrator(t, crd.Name)
	_, err := m.Once(ctx, crd.Name)
	if err == nil || !strings.Contains(err.Error(), "mig-refused/stuck") {
		t.Fatalf("Once = %v, want an error naming mig-refused/stuck", err)
	}
	if got := storedVersions(t, ctx, crd.Name); !slices.Contains(got, "v1") {
		t.Fatalf("storedVersions %v dropped v1 though stuck is still stored as v1", got)
	}
	stored := storedAs(t, ctx, plural)
	for k, v := range stored {
		want := group + "/v2"
		if strings.HasSuffix(k, "/stuck") {
			want = group + "/v1"
		}
		if v != want {
			t.Errorf("%s stored as %s, want %s", k, v, want)
		}
	}

	if err := env.Client.Delete(ctx, binding); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a pass to finish once stuck can be written", func() bool {
		_, err := m.Once(ctx, crd.Name)
		return err == nil
	})
	if got := storedVersions(t, ctx, crd.Name); !slices.Equal(got, []string{"v2"}) {
		t.Fatalf("storedVersions %v, want [v2]", got)
	}
	if v := storedAs(t, ctx, plural)["mig-refused/stuck"]; v != group+"/v2" {
		t.Fatalf("stuck stored as %s after the second pass", v)
	}
}

// TestMigrationLosesNoConcurrentWrite: users keep writing the objects while
// the Migrator runs (started as a manager would, following the CRD); the
// storage version is changed under it twice. Every user's last write is
// what stays, and the objects end stored in the final version.
func TestMigrationLosesNoConcurrentWrite(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const plural = "sprockets"
	crd := widgetCRD(plural, []string{"v1", "v2"}, "v1")
	crd.Spec.Names.Kind, crd.Spec.Names.ListKind = "Sprocket", "SprocketList"
	setCRD(t, ctx, crd)
	namespace(t, ctx, "mig-race")
	const n = 40
	for i := range n {
		s := widget("v1", "mig-race", fmt.Sprintf("s-%02d", i), 0)
		s.SetKind("Sprocket")
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	m := newMigrator(t, crd.Name)
	m.Resync = time.Hour // only the watch may bring the second change
	mctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = m.Start(mctx); close(done) }()
	defer func() { stop(); <-done }()

	// Writers: each object's size counts up; the last value written is
	// what must be there at the end.
	last := make([]int64, n)
	// Writers stop between writes, never mid-request, so each write's
	// outcome is known.
	var stopping atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := int64(1); !stopping.Load(); round++ {
				for i := w; i < n; i += 2 {
					s := widget("v1", "mig-race", fmt.Sprintf("s-%02d", i), 0)
					s.SetKind("Sprocket")
					for {
						if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
							break
						}
						s.Object["spec"] = map[string]any{"size": round}
						err := env.Client.Update(ctx, s)
						if err == nil {
							last[i] = round
							break
						}
						if !apierrors.IsConflict(err) {
							break
						}
					}
				}
			}
		}()
	}

	setCRD(t, ctx, withVersions(crd, []string{"v1", "v2"}, "v2"))
	waitFor(t, ctx, "storedVersions [v2]", func() bool {
		return slices.Equal(storedVersions(t, ctx, crd.Name), []string{"v2"})
	})
	// And back, as a rollback of the storage version would.
	setCRD(t, ctx, withVersions(crd, []string{"v1", "v2"}, "v1"))
	waitFor(t, ctx, "storedVersions [v1]", func() bool {
		return slices.Equal(storedVersions(t, ctx, crd.Name), []string{"v1"})
	})
	stopping.Store(true)
	wg.Wait()

	for k, v := range storedAs(t, ctx, plural) {
		if v != group+"/v1" {
			t.Errorf("%s stored as %s after moving back to v1", k, v)
		}
	}
	for i := range n {
		s := widget("v1", "mig-race", fmt.Sprintf("s-%02d", i), 0)
		s.SetKind("Sprocket")
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			t.Fatal(err)
		}
		size, _, _ := unstructured.NestedInt64(s.Object, "spec", "size")
		if size != last[i] || last[i] == 0 {
			t.Errorf("%s: size %d, the writer's last write was %d", s.GetName(), size, last[i])
		}
	}
}

func withVersions(crd *apiextensionsv1.CustomResourceDefinition, versions []string, storage string) *apiextensionsv1.CustomResourceDefinition {
	out := widgetCRD(crd.Spec.Names.Plural, versions, storage)
	out.Spec.Names = crd.Spec.Names
	return out
}
