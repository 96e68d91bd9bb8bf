package trim_test

import (
	"strings"
	"testing"

	"github.com/atrium-dev/atrium/internal/trim"
)

func TestDigest(t *testing.T) {
	const key = "example.org/digest"
	big := strings.Repeat("x", 100<<10)
	a := trim.Digest(map[string]string{"a": big, "b": "1"}, key)
	if len(a) != 1 || len(a[key]) != 64 {
		t.Fatalf("digest = %v", a)
	}
	for name, other := range map[string]map[string]string{
		"a value changed":            {"a": big + "y", "b": "1"},
		"a key added":                {"a": big, "b": "1", "c": ""},
		"a key removed":              {"a": big},
		"key and value run together": {"a": big + "b", "": "1"},
	} {
		if trim.Digest(other, key)[key] == a[key] {
			t.Errorf("%s: same digest", name)
		}
	}
	if again := trim.Digest(a, key); again[key] != a[key] {
		t.Error("a digest digested again changed")
	}
	if trim.Digest(nil, key) != nil || trim.Digest(map[string]string{}, key) != nil {
		t.Error("no annotations made a digest")
	}
}
