package openstackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// faults are what a test has asked to go wrong, consumed in order. They
// are applied before authentication, as a proxy or rate limiter in front
// of the real services would.
type faults struct {
	pending []*fault
	latency map[string]time.Duration
}

type fault struct {
	route      string // "" matches every route
	status     int    // for a lost response, 0 drops the connection
	retryAfter int    // seconds; sent when >= 0
	left       int
	lose       bool // process the request, then lose the answer
}

// AnyRoute makes a fault or latency apply to every route.
const AnyRoute = ""

// FailNext answers the next n requests to route with status (500, 503…)
// and a Cinder-shaped error body.
func (s *Server) FailNext(route string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, &fault{route: route, status: status, retryAfter: -1, left: n})
}

// RateLimitNext answers the next n requests to route with 429 and
// Retry-After in seconds, as an API gateway in front of Cinder does.
func (s *Server) RateLimitNext(route string, retryAfter, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, &fault{route: route, status: http.StatusTooManyRequests, retryAfter: retryAfter, left: n})
}

// SetLatency delays every request to route by d (zero removes it).
func (s *Server) SetLatency(route string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latency == nil {
		s.latency = map[string]time.Duration{}
	}
	s.latency[route] = d
}

// LoseResponseNext makes the next n requests to route be processed in
// full (a create creates the volume, a delete deletes it) and then drops
// the connection without an answer, as when a load balancer, a proxy or
// the network loses the response: the client sees an EOF and cannot tell
// whether anything happened, which is what idempotent callers must cope
// with. Note that Go's http.Transport silently resends a GET (or HEAD)
// whose reused connection closes before any answer, so a lost GET
// usually shows as a second request rather than an error; POST, PUT and
// DELETE are not resent.
func (s *Server) LoseResponseNext(route string, n int) {
	s.LoseResponseNextWith(route, 0, n)
}

// LoseResponseNextWith is LoseResponseNext answering status instead of
// dropping the connection, e.g. 504 as a gateway whose upstream answered
// too late, or 502: the request is processed in full, and the client
// gets the gateway's status with a small HTML body, as haproxy or nginx
// send. A status of 0 drops the connection.
func (s *Server) LoseResponseNextWith(route string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, &fault{route: route, status: status, retryAfter: -1, left: n, lose: true})
}

// loseResponse processes r into a recorder nobody reads, notes in e the
// status the fake meant to send, then drops the connection or answers
// f.status. It records e before the client can notice, so a test that
// reads Log right after the client's error finds the entry.
func (s *Server) loseResponse(w http.ResponseWriter, r *http.Request, f *fault, e *LogEntry, record func()) {
	hidden := httptest.NewRecorder()
	s.dispatch(hidden, r)
	e.Status, e.Lost = hidden.Code, true
	record()
	if f.status != 0 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1>The upstream server did not answer in time.</body></html>\n", f.status, http.StatusText(f.status))
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Without a connection to take over (HTTP/2), an aborted
		// handler is the closest: the server resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// takeFault returns the first pending fault for rt, if any, and the delay
// to apply. Called with mu held.
func (s *Server) takeFault(rt string) (*fault, time.Duration) {
	d := s.latency[rt] + s.latency[AnyRoute]
	for i, f := range s.pending {
		if f.route != AnyRoute && f.route != rt {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
		}
		return f, d
	}
	return nil, d
}

func (f *fault) write(w http.ResponseWriter) {
	if f.retryAfter >= 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
	}
	key := map[int]string{
		http.StatusTooManyRequests:     "overLimit",
		http.StatusServiceUnavailable:  "serviceUnavailable",
		http.StatusInternalServerError: "computeFault",
	}[f.status]
	if key == "" {
		key = "computeFault"
	}
	writeJSON(w, f.status, map[string]any{key: map[string]any{
		"code":    f.status,
		"message": http.StatusText(f.status) + " (injected)",
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
