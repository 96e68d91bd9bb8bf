package admission

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// A request in flight when the replica is told to stop (its server's
// context canceled) still has its own time to finish, bounded by the API
// server's timeout.
func TestHandlersOutliveTheServersContext(t *testing.T) {
	server, stop := context.WithCancel(context.Background())
	stop()
	var during error
	var deadline time.Time
	h := detached(func(ctx context.Context, _ admission.Request) admission.Response {
		during = ctx.Err()
		deadline, _ = ctx.Deadline()
		return admission.Allowed("")
	})
	h(server, admission.Request{})
	if during != nil {
		t.Fatalf("handler's context done while it ran: %v", during)
	}
	if left := time.Until(deadline); left <= 0 || left > requestBudget {
		t.Fatalf("handler's deadline %s away, want within %s", left, requestBudget)
	}
}
