package gitlab_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

func start(t *testing.T) (*gitlabfake.Server, *gitlab.Client, string) {
	t.Helper()
	return startPaced(t, 1000, 1000)
}

// startPaced is start with the client's pacing given.
func startPaced(t *testing.T, qps float64, burst int) (*gitlabfake.Server, *gitlab.Client, string) {
	t.Helper()
	fake := gitlabfake.Start()
	t.Cleanup(fake.Close)
	_, token := fake.AddUser("bot", true)
	fake.AddUser("alice", false)
	if _, err := fake.AddProject("alice", "homepage", gitlabfake.Public); err != nil {
		t.Fatal(err)
	}
	c, err := gitlab.New(gitlab.Config{URL: fake.URL, Token: token, Timeout: 2 * time.Second, QPS: qps, Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c, token
}

// A 429 closes the gate for as long as GitLab asks: the calls that follow
// fail at once without reaching GitLab, and go through once it opens.
func TestRateLimitClosesTheGate(t *testing.T) {
	fake, c, _ := start(t)
	ctx := context.Background()
	fake.AddFault(gitlabfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second, Times: 1})
	_, err := c.Project(ctx, "alice/homepage")
	after, transient := gitlab.Transient(err)
	if gitlab.ReasonOf(err) != gitlab.RateLimited || !transient || after < time.Second || after > 2*time.Second {
		t.Fatalf("err = %v (retry after %s)", err, after)
	}
	before := fake.Total()
	for range 20 {
		if _, err := c.Project(ctx, "alice/homepage"); gitlab.ReasonOf(err) != gitlab.RateLimited {
			t.Fatalf("a call went through a closed gate: %v", err)
		}
	}
	if n := fake.Total() - before; n != 0 {
		t.Fatalf("%d requests reached GitLab while it asked to wait", n)
	}
	time.Sleep(after + 100*time.Millisecond)
	if _, err := c.Project(ctx, "alice/homepage"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// GitLab's answers become reasons the operator acts on; none carries the
// token.
func TestErrorsAreClassified(t *testing.T) {
	fake, c, token := start(t)
	ctx := context.Background()
	_, err := c.Project(ctx, "nobody/nothing")
	if gitlab.ReasonOf(err) != gitlab.NotFound {
		t.Errorf("missing project: %v", err)
	}
	p, _ := fake.Project("alice/homepage")
	if _, err := c.CreateDomain(ctx, p.ID, "home.example.test", gitlab.TLS{Auto: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddProject("alice", "other", gitlabfake.Public); err != nil {
		t.Fatal(err)
	}
	other, _ := fake.Project("alice/other")
	_, err = c.CreateDomain(ctx, other.ID, "home.example.test", gitlab.TLS{Auto: true})
	if gitlab.ReasonOf(err) != gitlab.Taken || !strings.Contains(err.Error(), "taken") {
		t.Errorf("taken domain: %v", err)
	}
	fake.AddFault(gitlabfake.Fault{Status: http.StatusBadGateway, Times: 1})
	_, err = c.Project(ctx, "alice/homepage")
	if _, ok := gitlab.Transient(err); !ok || gitlab.ReasonOf(err) != gitlab.Unavailable {
		t.Errorf("502: %v", err)
	}
	bad, err := gitlab.New(gitlab.Config{URL: fake.URL, Token: "glpat-wrong", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Project(ctx, "alice/homepage")
	if gitlab.ReasonOf(err) != gitlab.Unauthorized {
		t.Errorf("wrong token: %v", err)
	}
	for _, e := range []error{err} {
		if strings.Contains(e.Error(), token) || strings.Contains(e.Error(), "glpat-wrong") {
			t.Errorf("an error carries a token: %v", e)
		}
	}
	// The project's domain is the project's, whichever call read it.
	d, err := c.VerifyDomain(ctx, p.ID, "home.example.test")
	if err != nil || d.ProjectID != p.ID {
		t.Errorf("verify: %+v, %v", d, err)
	}
	if err := c.DeleteDomain(ctx, other.ID, "home.example.test"); err != nil {
		t.Errorf("deleting a domain the project does not have: %v", err)
	}
	if _, ok := fake.Domain("home.example.test"); !ok {
		t.Error("deleting through another project removed the domain")
	}
}

// The instance-wide list is read a hundred domains a page, one page a
// call, each naming the next until the last.
func TestDomainsPageIsPaginated(t *testing.T) {
	fake, c, _ := start(t)
	for i := range 250 {
		if _, err := fake.AddDomain("alice/homepage", "d"+strings.Repeat("x", i%3)+time.Duration(i).String()+".example.test"); err != nil {
			t.Fatal(err)
		}
	}
	fake.ResetCounts()
	seen := map[string]bool{}
	var sizes []int
	for page := int64(1); page > 0; {
		ds, next, err := c.DomainsPage(context.Background(), page)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(ds))
		for _, d := range ds {
			seen[d.Name] = true
		}
		page = next
	}
	if len(seen) != 250 || !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Fatalf("%d domains in pages of %v", len(seen), sizes)
	}
	if n := fake.Count("GET /pages/domains"); n != 3 {
		t.Errorf("%d requests for 250 domains, want 3", n)
	}
}

// One domain is read from its project: another project's is not found
// there, and neither is one that does not exist.
func TestProjectDomain(t *testing.T) {
	fake, c, _ := start(t)
	ctx := context.Background()
	if _, err := fake.AddProject("alice", "other", gitlabfake.Public); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddDomain("alice/homepage", "home.example.test"); err != nil {
		t.Fatal(err)
	}
	p, err := c.Project(ctx, "alice/homepage")
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Project(ctx, "alice/other")
	if err != nil {
		t.Fatal(err)
	}
	if d, found, err := c.ProjectDomain(ctx, p.ID, "home.example.test"); err != nil || !found || d.ProjectID != p.ID || d.Name != "home.example.test" {
		t.Errorf("the project's own domain: %+v, %v, %v", d, found, err)
	}
	for _, tc := range []struct {
		project int64
		name    string
	}{{other.ID, "home.example.test"}, {p.ID, "nowhere.example.test"}} {
		if d, found, err := c.ProjectDomain(ctx, tc.project, tc.name); err != nil || found {
			t.Errorf("%s in project %d: %+v, %v, %v; want not found", tc.name, tc.project, d, found, err)
		}
	}
}

// Sites the pacing keeps back each get a turn, in the order they asked,
// and take it when they come back; a call kept back is Gated (nothing
// was sent), which the operator does not count as a failure.
func TestPacedCallsKeepTheirTurn(t *testing.T) {
	fake, c, _ := startPaced(t, 5, 1)
	ctx := context.Background()
	if _, err := c.Project(gitlab.For(ctx, "site-a"), "alice/homepage"); err != nil {
		t.Fatal(err)
	}
	waits := map[string]time.Duration{}
	for _, k := range []string{"site-b", "site-c"} {
		_, err := c.Project(gitlab.For(ctx, k), "alice/homepage")
		if !gitlab.Gated(err) {
			t.Fatalf("%s beyond the burst: %v, want kept back", k, err)
		}
		waits[k], _ = gitlab.Transient(err)
	}
	if waits["site-c"]-waits["site-b"] < 150*time.Millisecond {
		t.Fatalf("turns %v: site-c should wait one pacing interval (200ms) longer than site-b", waits)
	}
	before := fake.Total()
	time.Sleep(waits["site-c"])
	for _, k := range []string{"site-c", "site-b"} {
		if _, err := c.Project(gitlab.For(ctx, k), "alice/homepage"); err != nil {
			t.Fatalf("%s at its turn: %v", k, err)
		}
	}
	if n := fake.Total() - before; n != 2 {
		t.Fatalf("%d requests for two turns", n)
	}
}
