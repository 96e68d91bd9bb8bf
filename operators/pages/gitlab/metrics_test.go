package gitlab

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/atrium-dev/atrium/internal/gitlabfake"
)

// Every call is counted by result, the calls the gate keeps from GitLab
// apart.
func TestCallsAreCounted(t *testing.T) {
	fake := gitlabfake.Start()
	defer fake.Close()
	_, token := fake.AddUser("bot", true)
	fake.AddUser("alice", false)
	if _, err := fake.AddProject("alice", "homepage", gitlabfake.Public); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: fake.URL, Token: token, Timeout: 2 * time.Second, QPS: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	count := func(result string) float64 { return testutil.ToFloat64(requests.WithLabelValues("Project", result)) }
	ok, limited, gated := count("ok"), count("RateLimited"), count("Gated")
	if _, err := c.Project(ctx, "alice/homepage"); err != nil {
		t.Fatal(err)
	}
	fake.AddFault(gitlabfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 5 * time.Second, Times: 1})
	_, _ = c.Project(ctx, "alice/homepage")
	_, _ = c.Project(ctx, "alice/homepage")
	if count("ok")-ok != 1 || count("RateLimited")-limited != 1 || count("Gated")-gated != 1 {
		t.Errorf("counted ok %v, RateLimited %v, Gated %v; want 1 each", count("ok")-ok, count("RateLimited")-limited, count("Gated")-gated)
	}
}
