package trim

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
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
