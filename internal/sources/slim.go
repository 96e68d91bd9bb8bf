package sources

import (
	"errors"
	"unique"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Slim is what a cache that only ever asks an object for its hostnames
// keeps of it: the object's identity (its kind, namespace, name, UID and
// resourceVersion, and a deletion timestamp) and the hostnames its kind's
// Hostnames reads from it, as written, in one list. Names and Uses give the
// same answers for it (CachedNames, Uses) as Names for obj; nothing else of the kind is asked of it
// (a slim object has no spec: CatchAll and the records need the object).
// Labels, annotations, the spec and the status are left out.
//
// The hostnames webhook caches every object of every source kind, only
// ever to ask it that. An Ingress kept whole as unstructured maps, without
// its managedFields, takes about 3.7 KiB of memory, and one that kept the
// part of its spec that holds the hostnames, as maps, still 1.6 KiB (every
// map costs a few hundred bytes); a slim one, two maps and a list, about
// 0.9 KiB (BenchmarkSlim). The
// strings all objects share (the API version, kind and namespace) are
// interned, kept once.
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
	// A slim object again is the same (client-go may pass objects its
	// transform made through it once more: a watch-list's items are
	// transformed as they stream in, and again when they fill the store).
	raw, err := slimHostnamesOf(s, obj)
	if err != nil {
		out.Object[slimError] = err.Error()
		return out
	}
	list := make([]any, len(raw))
	for i, h := range raw {
		list[i] = h
	}
	out.Object[slimHostnames] = list
	return out
}

// The fields of a slim object that hold what its kind's Hostnames read, or
// the error it gave. No object of the source kinds has a top-level field
// so named (API fields are camelCase words), and only objects a cache
// holds are read for them (CachedNames), never an object admission is
// asked about.
const (
	slimHostnames = "atrium.dev/hostnames"
	slimError     = "atrium.dev/hostnames-error"
)

// slimHostnamesOf is what s.Hostnames reads from obj, or from what Slim
// kept of it. An object with a spec is read by its kind whatever else it
// carries.
func slimHostnamesOf(s Source, obj *unstructured.Unstructured) ([]string, error) {
	if _, whole := obj.Object["spec"]; whole {
		return s.Hostnames(obj)
	}
	if msg, ok := obj.Object[slimError].(string); ok {
		return nil, errors.New(msg)
	}
	list, ok := obj.Object[slimHostnames].([]any)
	if !ok {
		return s.Hostnames(obj)
	}
	var out []string
	for _, h := range list {
		if h, ok := h.(string); ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// intern returns the one copy of s that every caller shares.
func intern(s string) string { return unique.Make(s).Value() }
