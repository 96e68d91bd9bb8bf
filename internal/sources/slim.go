package sources

import (
	"unique"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Slim is a copy of obj that keeps what a cache of the kind needs to ask
// for its hostnames again (Names and Uses give the same answers; CatchAll
// and the records need more, and are not asked of it) and the
// object's identity: its kind, namespace, name, UID and resourceVersion,
// and a deletion timestamp. Labels, annotations, status and everything
// else of the spec are left out. The hostnames webhook caches every object
// of every source kind, only ever to ask it that; an Ingress kept whole,
// as unstructured maps, takes about 3.6 KiB of memory, slim about a
// quarter of it (docs/benchmarks.md). The strings all objects share (the
// API version, kind and namespace) are interned, kept once.
func Slim(s Source, obj *unstructured.Unstructured) *unstructured.Unstructured {
	md := map[string]any{
		"name":            obj.GetName(),
		"uid":             string(obj.GetUID()),
		"resourceVersion": obj.GetResourceVersion(),
	}
	if ns := obj.GetNamespace(); ns != "" {
		md["namespace"] = intern(ns)
	}
	if m, ok := obj.Object["metadata"].(map[string]any); ok {
		if ts, ok := m["deletionTimestamp"]; ok {
			md["deletionTimestamp"] = ts
		}
	}
	out := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": intern(obj.GetAPIVersion()),
		"kind":       intern(obj.GetKind()),
		"metadata":   md,
	}}
	spec, ok := obj.Object["spec"].(map[string]any)
	if !ok {
		return out
	}
	if spec = s.HostnameSpec(spec); len(spec) > 0 {
		out.Object["spec"] = spec
	}
	return out
}

// intern returns the one copy of s that every caller shares.
func intern(s string) string { return unique.Make(s).Value() }

// keepKeys is the part of m under the given keys, values shared with m.
func keepKeys(m map[string]any, keys ...string) map[string]any {
	var out map[string]any
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = make(map[string]any, len(keys))
			}
			out[k] = v
		}
	}
	return out
}

// eachKept maps every item of list that is an object to the part of it
// under the given keys; items that are not objects are kept as they are,
// for Hostnames to report.
func eachKept(list any, keys ...string) any {
	items, ok := list.([]any)
	if !ok {
		return list
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			kept := keepKeys(m, keys...)
			if kept == nil {
				kept = map[string]any{}
			}
			out = append(out, kept)
			continue
		}
		out = append(out, it)
	}
	return out
}
