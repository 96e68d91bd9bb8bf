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
	settleAfter time.Duration
	maxPageSize int
	tokenTTL    time.Duration
	loopLinks   bool

	srv *httptest.Server

	mu    sync.Mutex
	state *state
	faults
	counts map[string]int
	// inFlight and maxInFlight count the requests being served.
	inFlight, maxInFlight int
	log                   []LogEntry
	nextID                int
}

// Option configures Start.
type Option func(*Server)

// WithLoopingLinks makes every list's next link point to the page just
// served, as a broken cloud or proxy could: a client that follows links
// without looking would list for ever.
func WithLoopingLinks() Option { return func(s *Server) { s.loopLinks = true } }

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

// WithSettleReads sets how many reads of a volume or snapshot still show
// a transient status (creating, extending) before it settles; 1 by
// default, so a caller polls once and sees the intermediate state. A
// read is a GET of it or its appearing in a list answer. A negative
// value turns read settling off, leaving WithSettleAfter and Step.
func WithSettleReads(n int) Option { return func(s *Server) { s.settleReads = n } }

// WithSettleAfter makes a transient status also settle once d has passed
// since the transition began (off by default, or with d <= 0). Either
// condition suffices: with WithSettleReads(n) as well, the status settles
// at the first read after n reads or at the first observation at least d
// after the transition, whichever comes first. For a fixed delay,
// independent of how often a caller polls, combine it with
// WithSettleReads(-1): every observation before d shows the transient
// status and every one from d on the settled one, dated at d.
// Settling is lazy (on observation), so it costs nothing per volume.
func WithSettleAfter(d time.Duration) Option { return func(s *Server) { s.settleAfter = d } }

// WithMaxPageSize caps how many items a list answers with, with or
// without a limit parameter: Cinder's osapi_max_limit, 1000 by default.
func WithMaxPageSize(n int) Option {
	return func(s *Server) {
		if n <= 0 {
			panic("openstackfake: page size must be positive")
		}
		s.maxPageSize = n
	}
}

// WithTokenTTL sets how long an issued token is valid (an hour by
// default, Keystone's default expiration); after it, Cinder calls with
// it are 401 and expires_at in the token body says so.
func WithTokenTTL(d time.Duration) Option {
	return func(s *Server) {
		if d <= 0 {
			panic("openstackfake: token TTL must be positive")
		}
		s.tokenTTL = d
	}
}

// Start serves a new, empty cloud on loopback.
func Start(opts ...Option) *Server {
	s := &Server{
		region:      "RegionOne",
		minVersion:  microversion{3, 0},
		maxVersion:  microversion{3, 64},
		settleReads: 1,
		maxPageSize: defaultMaxPageSize,
		tokenTTL:    time.Hour,
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
// it. The log never holds headers, query or bodies, so tokens and secrets
// cannot leak into test output.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rt := route(r)
	s.mu.Lock()
	s.counts[rt]++
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	f, delay := s.takeFault(rt)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if delay > 0 {
		time.Sleep(delay)
	}
	entry := LogEntry{Method: r.Method, Route: rt, Path: r.URL.Path}
	logged := false
	record := func() {
		if !logged {
			logged = true
			s.mu.Lock()
			s.log = append(s.log, entry)
			s.mu.Unlock()
		}
	}
	defer record()
	switch {
	case f == nil:
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.dispatch(rec, r)
		entry.Status = rec.status
	case f.lose:
		s.loseResponse(w, r, f, &entry, record)
	default:
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		f.write(rec)
		entry.Status = rec.status
	}
}

// LogEntry is one served request: no headers, query or body.
type LogEntry struct {
	Method string
	Route  string
	Path   string
	// Status is what the fake answered, or for a lost response
	// (LoseResponseNext) what it would have answered.
	Status int
	// Lost is true when the request was processed but the client never
	// got the answer.
	Lost bool
}

// MaxInFlight is the most requests the fake was serving at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
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
