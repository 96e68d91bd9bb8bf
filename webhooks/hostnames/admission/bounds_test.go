package admission_test

import (
	"context"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// One Ingress with thousands of hostnames used to run the webhook past the
// API server's timeout after writing hundreds of claims, which stayed held
// for the grace period. The count is checked before anything is written.
func TestAttackOneObjectWithThousandsOfHostnames(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	namespace(t, a, "flood", nil)
	hosts := make([]string, 3000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.flood.example", i)
	}
	mustDeny(t, a.client().Create(ctx, ingress("flood", "many", hosts...)), "the object has 3000 hostnames", "the most one object may have is 100")
	for _, h := range []string{hosts[0], hosts[99], hosts[2999]} {
		if _, err := claim(t, h); !apierrors.IsNotFound(err) {
			t.Errorf("claim for %s after a refused object: %v", h, err)
		}
	}
	// At the bound it is admitted.
	if err := a.client().Create(ctx, ingress("flood", "hundred", hosts[:100]...)); err != nil {
		t.Fatal(err)
	}
}

// An object refused for one of its hostnames holds none of the others: the
// claims its admission created are undone at once, not after the grace
// period.
func TestRefusedObjectLeavesNoClaims(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a, b := members["member-a"], members["member-b"]
	namespace(t, a, "undo-a", nil)
	namespace(t, b, "undo-b", nil)
	if err := b.client().Create(ctx, ingress("undo-b", "site", "taken.undo.example")); err != nil {
		t.Fatal(err)
	}
	free := []string{"free-1.undo.example", "free-2.undo.example", "free-3.undo.example"}
	mustDeny(t, a.client().Create(ctx, ingress("undo-a", "greedy", append(free, "taken.undo.example")...)), "taken.undo.example is already in use")
	for _, h := range free {
		if _, err := claim(t, h); !apierrors.IsNotFound(err) {
			t.Errorf("claim for %s left by a refused object: %v", h, err)
		}
	}
	// The names are free for anybody at once.
	if err := b.client().Create(ctx, ingress("undo-b", "other", free...)); err != nil {
		t.Fatalf("the refused object's hostnames are still held: %v", err)
	}
}
