package trim_test

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

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

func TestConditions(t *testing.T) {
	mk := func() []metav1.Condition {
		return []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Bound", Message: strings.Repeat("v", 40) + "1"},
			{Type: "Error", Status: metav1.ConditionFalse, Reason: "NoError", Message: strings.Repeat("n", 40)},
		}
	}
	a, b := mk(), mk()
	want := mk()
	// As a decoder leaves them: room for more.
	a = slices.Grow(a, 1)
	a = trim.Conditions(a, "Ready")
	b = trim.Conditions(b, "Ready")
	if len(a) != len(want) || cap(a) != len(a) {
		t.Fatalf("%d conditions in a slice of %d, want %d in one of their own length", len(a), cap(a), len(want))
	}
	for i := range a {
		if a[i] != want[i] {
			t.Fatalf("condition %d changed: %+v, want %+v", i, a[i], want[i])
		}
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a[0].Type, b[0].Type) || !same(a[0].Reason, b[0].Reason) || !same(string(a[1].Status), string(b[1].Status)) || !same(a[1].Message, b[1].Message) {
		t.Fatal("two objects' conditions do not share their repeated strings")
	}
	if same(a[0].Message, b[0].Message) {
		t.Fatal("a per-object message was interned")
	}
}

func TestLabels(t *testing.T) {
	in := map[string]string{"example.org/namespace": strings.Repeat("t", 30), "example.org/uid": strings.Repeat("u", 36)}
	a := trim.Labels(in, "example.org/uid")
	b := trim.Labels(map[string]string{"example.org/namespace": strings.Repeat("t", 30), "example.org/uid": strings.Repeat("u", 36)}, "example.org/uid")
	if len(a) != 2 || a["example.org/namespace"] != in["example.org/namespace"] || a["example.org/uid"] != in["example.org/uid"] {
		t.Fatalf("labels changed: %v", a)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a["example.org/namespace"], b["example.org/namespace"]) {
		t.Fatal("a repeated label value is not shared")
	}
	if same(a["example.org/uid"], b["example.org/uid"]) {
		t.Fatal("a per-object label value was interned")
	}
	if trim.Labels(nil) != nil {
		t.Fatal("no labels made a map")
	}
}

func TestOwnerReferences(t *testing.T) {
	mk := func() []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "example.org/v1", Kind: "Thing", Name: "a", UID: "u",
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}}
	}
	a, b, want := mk(), mk(), mk()
	trim.OwnerReferences(a)
	trim.OwnerReferences(b)
	if !equality.Semantic.DeepEqual(a, want) {
		t.Fatalf("references changed: %+v", a)
	}
	if a[0].Controller != b[0].Controller || unsafe.StringData(a[0].Kind) != unsafe.StringData(b[0].Kind) {
		t.Fatal("two objects' references share nothing")
	}
	trim.OwnerReferences(nil)
}
