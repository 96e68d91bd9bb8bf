package gitlabfake

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

func TestThrottledHeaders(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	w.fake.AddFault(Fault{Method: "GET", PathPrefix: "/projects", Status: http.StatusTooManyRequests, Times: 1, RetryAfter: 30 * time.Second})

	before := time.Now().Unix()
	_, resp, err := c.Projects.GetProject("alice/homepage", nil)
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("throttled: %v", err)
	}
	h := resp.Header
	reset, _ := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64)
	if h.Get("Retry-After") != "30" || reset < before+29 || reset > before+31 ||
		h.Get("RateLimit-Limit") != "2000" || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-ResetTime") == "" {
		t.Fatalf("headers: %v", h)
	}
	if string(er.Body) != "Retry later\n" {
		t.Fatalf("body %q", er.Body)
	}
	// Times: 1 is used up; other routes were never affected.
	if _, _, err := c.Projects.GetProject("alice/homepage", nil); err != nil {
		t.Fatal(err)
	}
	if n := w.fake.Count("GET /projects/:id"); n != 2 {
		t.Fatalf("%d requests", n)
	}
}

// TestClientRetriesOnItsOwn shows what a caller gets from the client as
// configured by default: it retries 429 (waiting for RateLimit-Reset) and
// 5xx (but 501) up to 5 times before the caller sees anything, and
// gitlab.WithoutRetries() or gitlab.WithCustomRetryMax(0) stop that.
func TestClientRetriesOnItsOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the client's backoff, about 2s")
	}
	w := newWorld(t)
	def, err := gitlab.NewClient(w.aliceTok, gitlab.WithBaseURL(w.fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		w.fake.ResetCounts()
		w.fake.AddFault(Fault{PathPrefix: "/user", Status: st, Times: 1, RetryAfter: time.Millisecond})
		if _, _, err := def.Users.CurrentUser(); err != nil {
			t.Fatalf("%d: default client: %v", st, err)
		}
		if n := w.fake.Count("GET /user"); n != 2 {
			t.Fatalf("%d: %d requests, want 2 (one retry)", st, n)
		}
	}
	noRetry, err := gitlab.NewClient(w.aliceTok, gitlab.WithBaseURL(w.fake.URL), gitlab.WithCustomRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	w.fake.ResetCounts()
	w.fake.AddFault(Fault{PathPrefix: "/user", Status: http.StatusBadGateway, Times: 1})
	if _, _, err := noRetry.Users.CurrentUser(); status(t, err) != http.StatusBadGateway {
		t.Fatalf("retry max 0: %v", err)
	}
	if n := w.fake.Count("GET /user"); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestServerErrors(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	const p = "physics/atlas-site"
	w.fake.AddFault(Fault{Method: "POST", PathPrefix: "/api/v4/projects/" + p + "/pages/domains", Status: http.StatusInternalServerError})
	w.fake.AddFault(Fault{Method: "PUT", PathPrefix: "/projects/", Status: http.StatusBadGateway})

	var er *gitlab.ErrorResponse
	for range 2 { // until cleared
		_, _, err := c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("atlas.example.test")})
		if !errors.As(err, &er) || er.Response.StatusCode != 500 || er.Message != "{message: 500 Internal Server Error}" {
			t.Fatalf("500: %v", err)
		}
	}
	_, _, err := c.Projects.EditProject(p, &gitlab.EditProjectOptions{PagesAccessLevel: gitlab.Ptr(gitlab.PublicAccessControl)})
	if !errors.As(err, &er) || er.Response.StatusCode != 502 || !strings.HasPrefix(er.Message, "failed to parse unknown error format") {
		t.Fatalf("502: %v", err)
	}
	if _, _, err := c.PagesDomains.ListPagesDomains(p, nil); err != nil {
		t.Fatalf("a GET under a POST fault: %v", err)
	}
	if _, ok := w.fake.Domain("atlas.example.test"); ok {
		t.Fatal("a faulted create went through")
	}
	w.fake.ClearFaults()
	if _, _, err := c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("atlas.example.test")}); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
}

func TestLatency(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	w.fake.SetLatency(100 * time.Millisecond)
	start := time.Now()
	if _, _, err := c.Users.CurrentUser(); err != nil || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("latency: %v after %v", err, time.Since(start))
	}
	w.fake.ClearFaults()
	start = time.Now()
	if _, _, err := c.Users.CurrentUser(); err != nil || time.Since(start) > 90*time.Millisecond {
		t.Fatalf("after ClearFaults: %v after %v", err, time.Since(start))
	}
}

func TestRateLimiter(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	w.fake.SetRateLimit(3, 300*time.Millisecond)
	for i := range 3 {
		if _, _, err := c.Users.CurrentUser(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, resp, err := c.Users.CurrentUser()
	if status(t, err) != http.StatusTooManyRequests {
		t.Fatalf("fourth: %v", err)
	}
	// 3 per 300ms is 600 a minute, GitLab's unit for RateLimit-Limit.
	if h := resp.Header; h.Get("RateLimit-Limit") != "600" || h.Get("RateLimit-Observed") != "4" || h.Get("Retry-After") != "1" {
		t.Fatalf("headers: %v", h)
	}
	time.Sleep(300 * time.Millisecond)
	if _, _, err := c.Users.CurrentUser(); err != nil {
		t.Fatalf("next window: %v", err)
	}
	w.fake.ClearFaults()
	for range 5 {
		if _, _, err := c.Users.CurrentUser(); err != nil {
			t.Fatalf("after ClearFaults: %v", err)
		}
	}
}

func TestRequestCounting(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.botTok)
	w.fake.ResetCounts()
	for range 2 {
		_, _, _ = c.PagesDomains.ListPagesDomains("physics/atlas-site", nil)
	}
	_, _, _ = c.PagesDomains.ListPagesDomains(w.fake.mustProject(t, "alice/homepage").ID, nil)
	_, _, _ = c.Projects.GetProject("physics/atlas-site", nil)
	_, _, _ = w.client(t, "glpat-wrong").Projects.GetProject("physics/atlas-site", nil)

	// A token in the query string is accepted by GitLab; it must not reach
	// the log either.
	if resp, err := http.Get(w.fake.URL + "/api/v4/user?private_token=" + w.botTok + "&x=1"); err == nil {
		resp.Body.Close()
	}

	if n := w.fake.Count("GET /projects/:id/pages/domains"); n != 3 {
		t.Fatalf("domain lists: %d", n)
	}
	if n := w.fake.Count("GET /projects/:id"); n != 2 {
		t.Fatalf("project gets: %d", n)
	}
	if w.fake.Total() != 6 || len(w.fake.Requests()) != 6 {
		t.Fatalf("total %d, log %d, counts %v", w.fake.Total(), len(w.fake.Requests()), w.fake.Counts())
	}
	log := w.fake.Requests()
	if r := log[4]; r.Status != 401 || r.User != "" || r.Route != "GET /projects/:id" || r.Path != "/api/v4/projects/physics%2Fatlas-site" {
		t.Fatalf("unauthorized entry: %+v", r)
	}
	if r := log[5]; r.Query != "x=1" || r.User != "atrium-pages-bot" {
		t.Fatalf("query entry: %+v", r)
	}
	for _, r := range log {
		if s := fmt.Sprintf("%+v", r); strings.Contains(s, w.botTok) || strings.Contains(s, "glpat-wrong") {
			t.Fatalf("a token in the log: %s", s)
		}
	}
	w.fake.ResetCounts()
	if w.fake.Total() != 0 || len(w.fake.Requests()) != 0 || len(w.fake.Counts()) != 0 {
		t.Fatal("not reset")
	}
}

func (s *Server) mustProject(t *testing.T, path string) Project {
	t.Helper()
	p, ok := s.Project(path)
	if !ok {
		t.Fatalf("no project %s", path)
	}
	return p
}
