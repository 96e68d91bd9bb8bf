package sources

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/atrium-dev/atrium/internal/hostname"
)

// Invalid is a hostname an object writes that is not a valid hostname of
// its kind, with the reason.
type Invalid struct {
	Raw string
	Err error
}

// Names returns the hostnames of an object normalized, without
// duplicates, in the order they are first written, and those that are not
// valid hostnames of the kind. The webhook claims these names, the
// releaser keeps claims for them and the DNS operator publishes them: one
// reading, so the three cannot disagree on what an object names.
func Names(s Source, obj *unstructured.Unstructured) ([]hostname.Hostname, []Invalid, error) {
	return names(s, obj, s.Hostnames)
}

// CachedNames is Names of an object a cache holds, whole or slim (Slim).
// Only a cache's objects are read so: an object in an admission request is
// never taken for a slim one, whatever fields it carries.
func CachedNames(s Source, obj *unstructured.Unstructured) ([]hostname.Hostname, []Invalid, error) {
	return names(s, obj, func(obj *unstructured.Unstructured) ([]string, error) { return slimHostnamesOf(s, obj) })
}

func names(s Source, obj *unstructured.Unstructured, read func(*unstructured.Unstructured) ([]string, error)) ([]hostname.Hostname, []Invalid, error) {
	raw, err := read(obj)
	if err != nil {
		return nil, nil, err
	}
	hosts, invalid := Normalize(s, raw)
	return hosts, invalid, nil
}

// Uses reports whether an object a cache holds, whole or slim, names a
// hostname.
func Uses(s Source, obj *unstructured.Unstructured, h hostname.Hostname) bool {
	hosts, _, err := CachedNames(s, obj)
	return err == nil && slices.Contains(hosts, h)
}

// Normalize normalizes hostnames read from an object of a kind (for a
// caller that looks at how many there are first), as Names does.
func Normalize(s Source, raw []string) ([]hostname.Hostname, []Invalid) {
	wildcards := s.AllowsWildcards()
	var out []hostname.Hostname
	var invalid []Invalid
	for _, s := range raw {
		h, err := hostname.Normalize(s, hostname.Options{AllowWildcard: wildcards})
		switch {
		case err != nil:
			invalid = append(invalid, Invalid{Raw: s, Err: err})
		case !slices.Contains(out, h):
			out = append(out, h)
		}
	}
	return out, invalid
}
