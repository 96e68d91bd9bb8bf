package trim

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Digest replaces annotations by one annotation, key, holding a digest of
// them all (nil for none), so that a cached object costs 64 characters
// whatever its annotations hold, and a change of any of them still changes
// the cached object (a controller's annotation-changed predicate fires).
// Annotations that are already a digest are returned as they are: a
// transform may see its own output.
func Digest(annotations map[string]string, key string) map[string]string {
	if len(annotations) == 0 {
		return nil
	}
	if _, ok := annotations[key]; ok && len(annotations) == 1 {
		return annotations
	}
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(annotations[k]))
		h.Write([]byte{0})
	}
	return map[string]string{key: hex.EncodeToString(h.Sum(nil))}
}

// Conditions makes the cached conditions share the strings that thousands
// of objects repeat: every condition's type, status and reason, and its
// message unless its type is one of perObject (types whose messages name
// the object, which sharing would only add to Go's table of unique
// strings). The conditions keep their values; only their copies in memory
// are shared, and a string nothing holds any longer is freed (package
// unique). It returns the conditions in a slice of their own length: a
// decoder grows the slice it fills, which leaves room for a quarter more.
func Conditions(conds []metav1.Condition, perObject ...string) []metav1.Condition {
	if cap(conds) > len(conds) {
		conds = slices.Clone(conds)
	}
	for i := range conds {
		c := &conds[i]
		c.Type, c.Reason = Intern(c.Type), Intern(c.Reason)
		c.Status = metav1.ConditionStatus(Intern(string(c.Status)))
		if !slices.Contains(perObject, c.Type) {
			c.Message = Intern(c.Message)
		}
	}
	return conds
}

// Intern returns the one copy of s that every caller shares.
func Intern(s string) string { return unique.Make(s).Value() }

// Labels returns the labels with their keys and values shared (Intern),
// but the values of the keys in perObject (values that name one object,
// such as a UID, which sharing would only add to Go's table of unique
// strings). It returns a new map: the caller's stays as it was.
func Labels(labels map[string]string, perObject ...string) map[string]string {
	if labels == nil {
		return nil
	}
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !slices.Contains(perObject, k) {
			v = Intern(v)
		}
		out[Intern(k)] = v
	}
	return out
}

// OwnerReferences makes the references share what thousands of objects
// owned by one kind repeat: the owner's API version and kind, and the
// flags (one true and one false for all; nothing writes a cached object
// in place, and a cache read returns a deep copy).
func OwnerReferences(refs []metav1.OwnerReference) {
	for i := range refs {
		r := &refs[i]
		r.APIVersion, r.Kind = Intern(r.APIVersion), Intern(r.Kind)
		r.Controller, r.BlockOwnerDeletion = sharedBool(r.Controller), sharedBool(r.BlockOwnerDeletion)
	}
}

var yes, no = true, false

func sharedBool(b *bool) *bool {
	switch {
	case b == nil:
		return nil
	case *b:
		return &yes
	}
	return &no
}
