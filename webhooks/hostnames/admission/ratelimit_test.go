package admission_test

import (
	"context"
	"fmt"
	"testing"
)

// TestNewHostnamesAreNotThrottledAtTheHub: a cluster adding hostnames one
// after another, through the API server and the webhook, never has a hub
// request wait for the client-side rate limiter (the webhook's own
// reservations, and the releaser's writes for them, share its budget).
// With client-go's default of 5 requests a second, every admission after
// the tenth waited.
func TestNewHostnamesAreNotThrottledAtTheHub(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	a := members["member-a"]
	namespace(t, a, "many", nil)
	l := a.hubLimiter
	requests, waits := l.requests.Load(), l.waits.Load()
	const n = 40
	for i := range n {
		if err := a.client().Create(ctx, ingress("many", fmt.Sprintf("site-%02d", i), fmt.Sprintf("many-%02d.example.org", i))); err != nil {
			t.Fatal(err)
		}
	}
	sent := l.requests.Load() - requests
	if sent < n {
		t.Fatalf("%d hub requests for %d new hostnames: the admissions did not go through the counted limiter", sent, n)
	}
	if w := l.waits.Load() - waits; w > 0 {
		t.Fatalf("%d of %d hub requests waited for the client-side rate limiter while %d hostnames were added", w, sent, n)
	}
	t.Logf("%d hub requests for %d new hostnames, none throttled", sent, n)
}
