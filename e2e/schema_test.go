package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// upgradeField is the optional spec field the upgrade's newer CRDs add,
// as a release that gains a field would: unknown to both builds, so
// every write of theirs must leave it alone.
const upgradeField = "upgradeNote"

// readCRD reads a CRD of env by name.
func readCRD(ctx context.Context, t *testing.T, env *testenv.Env, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// changeCRD applies change to the live CRD (retried on conflict) and waits
// until the API server serves every version the CRD then names.
func changeCRD(ctx context.Context, t *testing.T, env *testenv.Env, name string, change func(*apiextensionsv1.CustomResourceDefinition)) {
	t.Helper()
	var crd *apiextensionsv1.CustomResourceDefinition
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		crd = &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return err
		}
		change(crd)
		return env.Client.Update(ctx, crd)
	})
	if err != nil {
		t.Fatalf("changing CRD %s: %v", name, err)
	}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.ListKind}
		if err := testenv.Eventually(ctx, time.Minute, func() error {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk)
			return env.Client.List(ctx, l, client.Limit(1))
		}); err != nil {
			t.Fatalf("CRD %s: %s not served: %v", name, v.Name, err)
		}
	}
}

// addOptionalField is the schema change of a newer release: every version
// of the CRD gains the optional string spec.<upgradeField>, and its
// schema version goes up by one. It returns the CRD as it was.
func addOptionalField(ctx context.Context, t *testing.T, env *testenv.Env, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	orig := readCRD(ctx, t, env, name)
	changeCRD(ctx, t, env, name, func(crd *apiextensionsv1.CustomResourceDefinition) {
		for i := range crd.Spec.Versions {
			spec := crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"]
			spec.Properties[upgradeField] = apiextensionsv1.JSONSchemaProps{Type: "string", MaxLength: ptrTo(int64(100))}
			crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		}
		v, _ := strconv.Atoi(crd.Annotations[fleetv1.SchemaVersionAnnotation])
		crd.Annotations[fleetv1.SchemaVersionAnnotation] = strconv.Itoa(v + 1)
	})
	return orig
}

// restoreCRD puts back the CRD's spec and annotations as orig had them.
// Should the CRD still store another version (a test stopped half-way),
// its owner first migrates it back to orig's storage version.
func restoreCRD(ctx context.Context, t *testing.T, env *testenv.Env, orig *apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	storage := ""
	for _, v := range orig.Spec.Versions {
		if v.Storage {
			storage = v.Name
		}
	}
	if live := readCRD(ctx, t, env, orig.Name); !slices.Equal(live.Status.StoredVersions, []string{storage}) {
		storeAs(ctx, t, env, orig.Name, storage)
		if err := waitStored(ctx, env, orig.Name, storage, 2*time.Minute); err != nil {
			t.Errorf("restoring CRD %s: %v", orig.Name, err)
		}
	}
	changeCRD(ctx, t, env, orig.Name, func(crd *apiextensionsv1.CustomResourceDefinition) {
		crd.Spec = orig.Spec
		crd.Annotations = orig.Annotations
	})
}

// serveNextVersion adds version next to the CRD, a copy of from (the same
// schema, so conversion None, the API server rewriting apiVersion only).
func serveNextVersion(ctx context.Context, t *testing.T, env *testenv.Env, name, from, next string) {
	t.Helper()
	changeCRD(ctx, t, env, name, func(crd *apiextensionsv1.CustomResourceDefinition) {
		for _, v := range crd.Spec.Versions {
			if v.Name == from {
				n := *v.DeepCopy()
				n.Name, n.Storage = next, false
				crd.Spec.Versions = append(crd.Spec.Versions, n)
				return
			}
		}
		t.Errorf("CRD %s has no version %s", name, from)
	})
}

// storeAs makes version the CRD's storage version.
func storeAs(ctx context.Context, t *testing.T, env *testenv.Env, name, version string) {
	t.Helper()
	changeCRD(ctx, t, env, name, func(crd *apiextensionsv1.CustomResourceDefinition) {
		for i := range crd.Spec.Versions {
			crd.Spec.Versions[i].Storage = crd.Spec.Versions[i].Name == version
		}
	})
}

// dropVersion stops serving version and removes it from the CRD; the API
// server refuses while status.storedVersions still lists it.
func dropVersion(env *testenv.Env, ctx context.Context, name, version string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return err
		}
		crd.Spec.Versions = slices.DeleteFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == version })
		return env.Client.Update(ctx, crd)
	})
}

// waitStored waits until the CRD's owner has migrated it: storedVersions
// is [version] and etcd holds every object of the kind in that version.
func waitStored(ctx context.Context, env *testenv.Env, name, version string, timeout time.Duration) error {
	return testenv.Eventually(ctx, timeout, func() error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return err
		}
		if !slices.Equal(crd.Status.StoredVersions, []string{version}) {
			return fmt.Errorf("CRD %s: storedVersions %v, want [%s]", name, crd.Status.StoredVersions, version)
		}
		stored, err := env.StoredAPIVersions(ctx, crd.Spec.Group, crd.Spec.Names.Plural)
		if err != nil {
			return err
		}
		if len(stored) == 0 {
			return fmt.Errorf("no %s in etcd", crd.Spec.Names.Plural)
		}
		want := crd.Spec.Group + "/" + version
		for key, v := range stored {
			if v != want {
				return fmt.Errorf("%s %s stored as %s, want %s", crd.Spec.Names.Singular, key, v, want)
			}
		}
		return nil
	})
}

// noteOf reads the object again (as unstructured, so that fields the
// binary's types lack are kept) and returns its spec.<upgradeField>.
func noteOf(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, key client.ObjectKey) (string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, key, u); err != nil {
		return "", err
	}
	note, _, _ := unstructured.NestedString(u.Object, "spec", upgradeField)
	return note, nil
}

func ptrTo[T any](v T) *T { return &v }
