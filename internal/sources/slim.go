package sources

import (
	"encoding/json"
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
		slimMark:     slimMarkValue,
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

// SlimRecords is what a cache that only ever asks an object for its records
// (CachedRecords) keeps of it. For a kind whose records follow from its
// hostnames and from targets in its own status alone (an Ingress, an
// OpenShift Route), that is Slim's copy with those targets added, in one
// list. An object of any other kind is returned as it is: its records
// depend on more of it (a DNSEndpoint's endpoints, a GitLabPagesSite's
// verification record) or on other objects (an HTTPRoute's Gateways), and
// a Gateway is read for its addresses.
//
// The DNS operator caches every object of every source kind, only ever to
// ask it that: at 10,000 Ingresses the whole objects were most of its live
// heap (docs/benchmarks.md, DNS, Memory).
func SlimRecords(s Source, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t, ok := s.(ownTargeter)
	if !ok {
		return obj
	}
	out := Slim(s, obj)
	targets := slimTargetsOf(t, obj)
	list := make([]any, len(targets))
	for i, target := range targets {
		list[i] = intern(target)
	}
	out.Object[slimTargets] = list
	return out
}

// ownTargeter is implemented by kinds whose targets come from their own
// object alone, never from Fronts: their Targets may be read from a slim
// copy (SlimRecords).
type ownTargeter interface {
	targeter
	targetsFromOwnStatus()
}

// slimTargetsOf is what t.Targets reads from obj, or from what SlimRecords
// kept of it. An object with a spec is read by its kind whatever else it
// carries.
func slimTargetsOf(t ownTargeter, obj *unstructured.Unstructured) []string {
	if isSlim(obj) {
		if list, ok := obj.Object[slimTargets].([]any); ok {
			var out []string
			for _, target := range list {
				if target, ok := target.(string); ok {
					out = append(out, target)
				}
			}
			return out
		}
	}
	return t.Targets(obj, Fronts{})
}

// isSlim says whether obj is a copy Slim made: it has no spec and carries
// Slim's mark, a value of a type no decoding of an API server's answer
// gives (its numbers decode to int64 or float64), so an object
// whose kind keeps unknown fields (a CustomResourceDefinition that
// preserves them) cannot pass for a slim copy by carrying the slim fields.
func isSlim(obj *unstructured.Unstructured) bool {
	if _, whole := obj.Object["spec"]; whole {
		return false
	}
	_, marked := obj.Object[slimMark].(json.Number)
	return marked
}

// slimMarkValue marks a slim copy (isSlim); runtime.DeepCopyJSONValue
// copies it like any JSON number. It is held as an interface value, so
// that every slim copy shares it rather than boxing a copy of its own.
var slimMarkValue any = json.Number("1")

// The fields of a slim object that hold its mark, what its kind's
// Hostnames read or the error it gave, and (SlimRecords) the targets its
// status names. No object of the source kinds has a top-level field
// so named (API fields are camelCase words), and only objects a cache
// holds are read for them (CachedNames), never an object admission is
// asked about.
const (
	slimMark      = "atrium.dev/slim"
	slimHostnames = "atrium.dev/hostnames"
	slimError     = "atrium.dev/hostnames-error"
	slimTargets   = "atrium.dev/targets"
)

// slimHostnamesOf is what s.Hostnames reads from obj, or from what Slim
// kept of it. An object with a spec is read by its kind whatever else it
// carries.
func slimHostnamesOf(s Source, obj *unstructured.Unstructured) ([]string, error) {
	if !isSlim(obj) {
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
