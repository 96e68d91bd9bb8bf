package gitlabfake

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Request is one request as the fake saw it. It holds no credential: the
// token headers are not kept and token query parameters are dropped.
type Request struct {
	Time   time.Time
	Method string
	// Path is the escaped path, as sent ("/api/v4/projects/alice%2Fhomepage").
	Path  string
	Query string
	// Route is what the request is counted under, "GET /projects/:id",
	// or "(unmatched)".
	Route string
	// Status is the status answered, 0 if the client left during the
	// injected latency.
	Status int
	// User is the authenticated username, "" if the token was not known
	// (or the request was answered before authentication).
	User     string
	Duration time.Duration
}

// secretParams are the query parameters GitLab takes a token from.
var secretParams = []string{"private_token", "access_token", "job_token"}

// logLimit bounds the request log, so that a long make run does not grow
// without end; the counts are not bounded by it.
const logLimit = 10000

type observer struct {
	mu     sync.Mutex
	counts map[string]int
	total  int
	log    []Request
}

func (o *observer) record(r *http.Request, name string, status int, username string, start time.Time) {
	q := r.URL.Query()
	for _, p := range secretParams {
		q.Del(p)
	}
	entry := Request{
		Time: start, Method: r.Method, Path: r.URL.EscapedPath(), Query: q.Encode(),
		Route: name, Status: status, User: username, Duration: time.Since(start),
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[name]++
	o.total++
	if len(o.log) >= logLimit {
		o.log = slices.Delete(o.log, 0, len(o.log)-logLimit+1)
	}
	o.log = append(o.log, entry)
}

// Count is how many requests came for a route, named as "METHOD template"
// with the templates of GitLab's docs: "GET /projects/:id/pages/domains".
// Every request counts, including those a fault or 401 answered.
func (s *Server) Count(route string) int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.counts[route]
}

// Counts is a copy of all the counts by route.
func (s *Server) Counts() map[string]int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return maps.Clone(s.obs.counts)
}

// Total is how many requests came.
func (s *Server) Total() int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.total
}

// Requests is a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return slices.Clone(s.obs.log)
}

// ResetCounts forgets the counts and the request log.
func (s *Server) ResetCounts() {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	s.obs.counts, s.obs.total, s.obs.log = nil, 0, nil
}
