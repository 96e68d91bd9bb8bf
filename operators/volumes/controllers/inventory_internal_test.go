package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// Until the listing succeeded every volume may exist; after it, only
// those it found and those this process sent a create for.
func TestInventory(t *testing.T) {
	var none *inventory
	if !none.mayExist("u") {
		t.Fatal("without an inventory a volume must be looked up")
	}
	none.sending("u") // no panic

	if none.pending() {
		t.Fatal("without an inventory nothing waits for a listing")
	}
	i := newInventory()
	if !i.mayExist("u1") {
		t.Fatal("before the listing a volume must be looked up")
	}
	if !i.pending() {
		t.Fatal("before the first listing new volumes should wait for it")
	}
	i.fail()
	if i.pending() {
		t.Fatal("after a failed listing new volumes must be looked up on their own, not wait")
	}
	i.sending("u2")
	i.load([]*cinder.Volume{
		{ID: "a", Metadata: map[string]string{storagev1.MetaUID: "u1"}},
		{ID: "b", Metadata: map[string]string{}},
	})
	for uid, want := range map[types.UID]bool{"u1": true, "u2": true, "u3": false, "": false} {
		if got := i.mayExist(uid); got != want {
			t.Errorf("mayExist(%q) = %v after the listing, want %v", uid, got, want)
		}
	}
	if i.pending() {
		t.Fatal("pending after the listing")
	}
	i.sending("u3")
	if !i.mayExist("u3") {
		t.Fatal("a UID this process sent a create for must be looked up")
	}
}
