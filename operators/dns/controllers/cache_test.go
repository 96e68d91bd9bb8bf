package controllers

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/sources"
)

// A cached source object loses its managed fields and kubectl's copy of
// itself, and keeps everything else.
func TestTrimCached(t *testing.T) {
	obj := func(extra bool) *unstructured.Unstructured {
		meta := map[string]any{
			"name": "www", "namespace": "site", "uid": "u1", "resourceVersion": "7",
			"labels":      map[string]any{"app": "www"},
			"annotations": map[string]any{"note": "kept"},
		}
		if extra {
			meta["managedFields"] = []any{map[string]any{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{}}}}
			meta["annotations"].(map[string]any)[lastApplied] = `{"spec":{}}`
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
			"spec":   map[string]any{"rules": []any{map[string]any{"host": "www.example.test"}}},
			"status": map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "192.0.2.1"}}}},
		}}
	}
	got, err := TrimCached(obj(true))
	if err != nil {
		t.Fatal(err)
	}
	if want := obj(false); !reflect.DeepEqual(got.(*unstructured.Unstructured).Object, want.Object) {
		t.Fatalf("trimmed to\n%v\nwant\n%v", got.(*unstructured.Unstructured).Object, want.Object)
	}
	// Not an object: passed on.
	if got, err := TrimCached("tombstone"); err != nil || got != "tombstone" {
		t.Fatalf("TrimCached(non-object) = %v, %v", got, err)
	}
}

// The manager caches unstructured objects, trimmed.
func TestManagerOptions(t *testing.T) {
	o := ManagerOptions(ctrl.Options{})
	if o.Client.Cache == nil || !o.Client.Cache.Unstructured {
		t.Fatal("unstructured objects are not served from the cache")
	}
	if o.Cache.DefaultTransform == nil {
		t.Fatal("cached objects are not trimmed")
	}
	// An Ingress is kept slim, and asks for the same records; a Gateway,
	// read for its addresses, is kept whole but trimmed.
	ing := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "www", "namespace": "site", "uid": "u1", "resourceVersion": "7", "annotations": map[string]any{"note": "x"}},
		"spec":     map[string]any{"rules": []any{map[string]any{"host": "www.example.test"}}},
		"status":   map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "192.0.2.1"}}}},
	}}
	src, _ := sources.For(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"})
	want, _, _ := sources.Records(src, ing.DeepCopy(), sources.Fronts{})
	got, err := o.Cache.DefaultTransform(ing.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	slim := got.(*unstructured.Unstructured)
	if _, whole := slim.Object["spec"]; whole {
		t.Fatalf("the Ingress is cached whole: %v", slim.Object)
	}
	if recs, _, err := sources.CachedRecords(src, slim, sources.Fronts{}); err != nil || !reflect.DeepEqual(recs, want) {
		t.Fatalf("records of the cached Ingress %v, %v; want %v", recs, err, want)
	}
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "gw", "namespace": "site", "managedFields": []any{map[string]any{"manager": "x"}}},
		"spec":     map[string]any{"gatewayClassName": "x"},
		"status":   map[string]any{"addresses": []any{map[string]any{"value": "192.0.2.7"}}},
	}}
	got, err = o.Cache.DefaultTransform(gw)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(*unstructured.Unstructured); g.GetManagedFields() != nil || g.Object["status"] == nil || g.Object["spec"] == nil {
		t.Fatalf("the Gateway is cached as %v; want it whole without its managed fields", g.Object)
	}
}
