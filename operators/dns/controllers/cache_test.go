package controllers

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
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
}
