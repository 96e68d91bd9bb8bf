package openstackfake

import (
	"encoding/json"
	"net/http"
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
	status     int
	retryAfter int // seconds; sent when >= 0
	left       int
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
