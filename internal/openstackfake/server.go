package openstackfake

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Server is one fake OpenStack cloud: Keystone and Cinder behind a single
// loopback listener, sharing one state guarded by mu.
type Server struct {
	// URL is the server's root; IdentityURL is what
	// gophercloud.AuthOptions.IdentityEndpoint takes.
	URL         string
	IdentityURL string

	region      string
	minVersion  microversion
	maxVersion  microversion
	settleReads int

	srv *httptest.Server

	mu    sync.Mutex
	state *state
	faults
	counts map[string]int
	log    []LogEntry
	nextID int
}

// Option configures Start.
type Option func(*Server)

// WithRegion names the region the catalog lists (RegionOne by default, as
// devstack has it).
func WithRegion(r string) Option { return func(s *Server) { s.region = r } }

// WithMaxMicroversion sets the highest Cinder microversion advertised and
// accepted ("3.64" by default), to test a caller against an older cloud.
func WithMaxMicroversion(v string) Option {
	return func(s *Server) {
		mv, ok := parseMicroversion(v)
		if !ok {
			panic("openstackfake: bad microversion " + v)
		}
		s.maxVersion = mv
	}
}

// WithSettleReads sets how many reads of a volume still show a transient
// status (creating, extending) before it settles; 1 by default, so a
// caller polls once and sees the intermediate state. A negative value
// means only Step settles volumes.
func WithSettleReads(n int) Option { return func(s *Server) { s.settleReads = n } }

// Start serves a new, empty cloud on loopback.
func Start(opts ...Option) *Server {
	s := &Server{
		region:      "RegionOne",
		minVersion:  microversion{3, 0},
		maxVersion:  microversion{3, 64},
		settleReads: 1,
		state:       newState(),
		counts:      map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.IdentityURL = s.URL + "/identity/v3"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// VolumeEndpoint is the Cinder endpoint the catalog lists for a project.
func (s *Server) VolumeEndpoint(projectID string) string {
	return s.URL + "/volume/v3/" + projectID
}

// serve counts and logs the request, applies injected faults, then routes
// it. The log never holds headers or bodies, so tokens and secrets cannot
// leak into test output.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rt := route(r)
	s.mu.Lock()
	s.counts[rt]++
	f, delay := s.takeFault(rt)
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if f != nil {
		f.write(rec)
	} else {
		s.dispatch(rec, r)
	}
	s.mu.Lock()
	s.log = append(s.log, LogEntry{Method: r.Method, Route: rt, Path: r.URL.Path, Status: rec.status})
	s.mu.Unlock()
}

// LogEntry is one served request: no headers, query or body.
type LogEntry struct {
	Method string
	Route  string
	Path   string
	Status int
}

// Log returns a copy of the requests served so far.
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.log...)
}

// Count is how many requests reached a route, e.g. "POST /volumes" or
// "POST /auth/tokens" (see the route names in routes.go).
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
