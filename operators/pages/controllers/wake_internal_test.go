package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// Sites woken once the domain list is read are sent to the queue; when the
// manager stops with no one reading the queue any more, the sending ends
// rather than block for ever.
func TestWakeUpsEndWithTheManager(t *testing.T) {
	r := &SiteReconciler{wake: make(chan event.TypedGenericEvent[*pagesv1.GitLabPagesSite]), stopped: make(chan struct{})}
	r.waiting = map[types.NamespacedName]bool{{Namespace: "t", Name: "a"}: true, {Namespace: "t", Name: "b"}: true}
	r.wakeWaiting()
	if got := <-r.wake; got.Object.Namespace != "t" {
		t.Fatalf("woke %v", got.Object)
	}
	close(r.stopped) // the second wake-up is never read
	done := make(chan struct{})
	go func() { r.waking.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the wake-ups still wait on a queue no one reads after the manager stopped")
	}
}
