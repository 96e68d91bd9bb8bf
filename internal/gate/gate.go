// Package gate is the limiter the operators put in front of an external
// API (GitLab, Cinder). It never blocks: a call it keeps back is told how
// long to wait, so the reconcile requeues instead of holding a worker.
// It is closed while the API asked callers to wait (a 429 and its
// Retry-After), and paces calls otherwise.
package gate

import (
	"context"
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
	// turns are the turns held for keyed callers: the instant each may
	// leave. A caller kept back keeps its place in line instead of coming
	// back with every other one at the next free instant (a herd in which
	// one wins and the rest are kept back again, each time).
	turns map[string]time.Time
	swept time.Time
}

// forgotten is how long a held turn that nobody took stays held.
const forgotten = 10 * time.Second

// New makes a gate that admits qps calls a second, burst at once; now is
// the clock (time.Now when nil).
func New(qps float64, burst int, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	return &Gate{now: now, pace: rate.NewLimiter(rate.Limit(qps), max(burst, 1)), turns: map[string]time.Time{}}
}

// Admit lets a call through (wait 0), or says how long it must wait and
// whether that is because the API asked to (closed) or only the pacing.
func (g *Gate) Admit() (wait time.Duration, closed bool) {
	return g.Take("")
}

// Take is Admit for a caller that comes back under the same key (an
// object's UID): a caller kept back by the pacing gets a turn of its own,
// the wait is until that turn, and the call it makes then takes it
// without asking the pacing again. An empty key holds nothing.
func (g *Gate) Take(key string) (wait time.Duration, closed bool) {
	return g.turn(key, false)
}

// Hold is Take for a caller that must do something before its call (write
// down that it is about to make it): a turn free now is held for the key's
// next Take instead of being used, so that the call then leaves for sure.
func (g *Gate) Hold(key string) (wait time.Duration, closed bool) {
	return g.turn(key, true)
}

func (g *Gate) turn(key string, hold bool) (time.Duration, bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.until) {
		return g.until.Sub(now), true
	}
	if at, ok := g.turns[key]; ok && key != "" {
		if now.Before(at) {
			return at.Sub(now), false
		}
		if !hold {
			delete(g.turns, key)
		}
		return 0, false
	}
	g.forget(now)
	r := g.pace.ReserveN(now, 1)
	d := r.DelayFrom(now)
	switch {
	case key == "" && d > 0:
		r.CancelAt(now)
		return d, false
	case key == "":
		return 0, false
	case d > 0 || hold:
		g.turns[key] = now.Add(d)
		return d, false
	}
	return 0, false
}

// forget drops the turns held too long past their instant: their callers
// went elsewhere (the object was deleted, or needed no call after all).
func (g *Gate) forget(now time.Time) {
	if now.Sub(g.swept) < time.Second {
		return
	}
	g.swept = now
	for k, at := range g.turns {
		if now.Sub(at) > forgotten {
			delete(g.turns, k)
		}
	}
}

// Close keeps every call back for d (an API's Retry-After); a shorter
// close never reopens a longer one.
func (g *Gate) Close(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.now().Add(d); u.After(g.until) {
		g.until = u
	}
}

type objectKey struct{}

// For marks the calls made with the returned context as made for one
// object (its UID), the key the clients in front of GitLab and Cinder pass
// to Take and Hold: a call the pacing keeps back keeps its place in line
// for when the object comes back.
func For(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, objectKey{}, key)
}

// KeyOf is the key For put in ctx, empty when none.
func KeyOf(ctx context.Context) string {
	k, _ := ctx.Value(objectKey{}).(string)
	return k
}

// Refusal turns what Take or Hold answered into a client's error: nil when
// the call may leave (wait 0), else refuse(wait, why), why naming the API
// ("waiting as GitLab asked after a 429" when the gate is closed, "pacing
// requests to GitLab" otherwise). It is here once because the clients in
// front of GitLab and Cinder map a kept-back call alike; each still makes
// its own error type (a RateLimited Error with Status 0, which its Gated
// recognises), so refuse builds it.
func Refusal(api string, wait time.Duration, closed bool, refuse func(wait time.Duration, why string) error) error {
	switch {
	case wait == 0:
		return nil
	case closed:
		return refuse(wait, "waiting as "+api+" asked after a 429")
	}
	return refuse(wait, "pacing requests to "+api)
}
