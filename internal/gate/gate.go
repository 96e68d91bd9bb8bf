// Package gate is the limiter the operators put in front of an external
// API (GitLab, Cinder). It never blocks: a call it keeps back is told how
// long to wait, so the reconcile requeues instead of holding a worker.
// It is closed while the API asked callers to wait (a 429 and its
// Retry-After), and paces calls otherwise.
package gate

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gate admits calls to one API.
type Gate struct {
	now  func() time.Time
	pace *rate.Limiter

	mu    sync.Mutex
	until time.Time
}

// New makes a gate that admits qps calls a second, burst at once; now is
// the clock (time.Now when nil).
func New(qps float64, burst int, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	return &Gate{now: now, pace: rate.NewLimiter(rate.Limit(qps), max(burst, 1))}
}

// Admit lets a call through (wait 0), or says how long it must wait and
// whether that is because the API asked to (closed) or only the pacing.
func (g *Gate) Admit() (wait time.Duration, closed bool) {
	now := g.now()
	g.mu.Lock()
	until := g.until
	g.mu.Unlock()
	if now.Before(until) {
		return until.Sub(now), true
	}
	r := g.pace.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, false
}

// Close keeps every call back for d (as the API asked), unless it is
// closed for longer already.
func (g *Gate) Close(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.now().Add(d); u.After(g.until) {
		g.until = u
	}
}
