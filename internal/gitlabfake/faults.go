package gitlabfake

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault answers matching requests with an error status instead of the
// endpoint, for testing how a caller copes with a troubled GitLab.
type Fault struct {
	// Method is the HTTP method to match, "" for any.
	Method string
	// PathPrefix is matched against the unescaped path, with or without
	// "/api/v4" ("/projects/alice/homepage/pages"); "" matches every path.
	PathPrefix string
	// Status is 429, or a 5xx such as 500, 502 or 503.
	Status int
	// Times is how many requests the fault answers; 0 means until
	// ClearFaults.
	Times int
	// RetryAfter is, for a 429, when the client may come back (Retry-After
	// and RateLimit-Reset); 1s if zero. GitLab's throttles use a period of
	// a minute, but a client that honours the headers would then wait that
	// long in a test.
	RetryAfter time.Duration
	// Limit is, for a 429, the RateLimit-Limit reported (requests a
	// minute); 2000 if zero, GitLab.com's authenticated API limit.
	Limit int
}

type rule struct {
	Fault
	left int
}

type faults struct {
	mu      sync.Mutex
	latency time.Duration
	rules   []*rule

	// The rate limiter: limit requests per window, in fixed windows that
	// start with the first request after the previous one ended.
	limit       int
	window      time.Duration
	windowStart time.Time
	used        int
}

// SetLatency delays every request by d (0 for none).
func (s *Server) SetLatency(d time.Duration) {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.latency = d
}

// AddFault adds a fault; faults are tried in the order they were added,
// before the rate limiter.
func (s *Server) AddFault(f Fault) {
	if f.Status < 400 {
		panic(fmt.Sprintf("gitlabfake: fault status %d is not an error", f.Status))
	}
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.rules = append(s.flt.rules, &rule{Fault: f, left: f.Times})
}

// ClearFaults removes every fault, the latency and the rate limit.
func (s *Server) ClearFaults() {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.rules, s.flt.latency, s.flt.limit, s.flt.used = nil, 0, 0, 0
}

// SetRateLimit lets n requests through per window and answers the rest
// with 429 until the window ends, like GitLab's user and IP rate limits.
// n = 0 turns the limiter off.
func (s *Server) SetRateLimit(n int, window time.Duration) {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.limit, s.flt.window, s.flt.used, s.flt.windowStart = n, window, 0, time.Time{}
}

func (f *faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// intercept answers the request if a fault or the rate limiter takes it.
func (f *faults) intercept(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, rl := range f.rules {
		if !rl.matches(r) {
			continue
		}
		if rl.Times > 0 {
			rl.left--
			if rl.left == 0 {
				f.rules = append(f.rules[:i:i], f.rules[i+1:]...)
			}
		}
		if rl.Status == http.StatusTooManyRequests {
			limit := rl.Limit
			if limit == 0 {
				limit = 2000
			}
			wait := rl.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			throttled(w, limit, limit+1, time.Now().Add(wait))
		} else {
			serverError(w, rl.Status)
		}
		return true
	}
	if f.limit <= 0 || f.window <= 0 {
		return false
	}
	now := time.Now()
	if f.windowStart.IsZero() || !now.Before(f.windowStart.Add(f.window)) {
		f.windowStart, f.used = now, 0
	}
	f.used++
	if f.used <= f.limit {
		return false
	}
	perMinute := int(math.Ceil(float64(f.limit) * float64(time.Minute) / float64(f.window)))
	throttled(w, perMinute, f.used, f.windowStart.Add(f.window))
	return true
}

func (rl *rule) matches(r *http.Request) bool {
	if rl.Method != "" && !strings.EqualFold(rl.Method, r.Method) {
		return false
	}
	prefix := strings.TrimPrefix(rl.PathPrefix, apiPrefix)
	return strings.HasPrefix(strings.TrimPrefix(r.URL.Path, apiPrefix), prefix)
}

// throttled answers as GitLab's Rack::Attack throttles do: 429, the
// RateLimit headers (only on the throttled answer, as on a self-managed
// instance) and a plain-text body.
//
// The client configures its own limiter from RateLimit-Limit on the first
// response it ever gets, so a client whose first request is throttled
// paces itself to limit*0.66/60 requests a second from then on.
func throttled(w http.ResponseWriter, limit, observed int, reset time.Time) {
	wait := max(0, int(math.Ceil(time.Until(reset).Seconds())))
	resetUnix := time.Now().Unix() + int64(wait)
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(wait))
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Observed", strconv.Itoa(observed))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(0, limit-observed)))
	h.Set("RateLimit-Reset", strconv.FormatInt(resetUnix, 10))
	h.Set("RateLimit-ResetTime", time.Unix(resetUnix, 0).UTC().Format(http.TimeFormat))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
}

// serverError answers a 5xx: a JSON message from the application for a
// 500, the HTML error page the front (Workhorse, NGINX) serves otherwise.
func serverError(w http.ResponseWriter, status int) {
	if status == http.StatusInternalServerError {
		apiError(w, status, "message", "500 Internal Server Error")
		return
	}
	text := http.StatusText(status)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html>\n<head><title>%d %s</title></head>\n<body><h1>%d</h1><p>%s: GitLab is not responding.</p></body>\n</html>\n", status, text, status, text)
}
