package gitlabfake

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Resolver looks up the TXT records of a name, as net.Resolver.LookupTXT
// does. The fake calls it for domain verification.
type Resolver func(ctx context.Context, name string) ([]string, error)

// DNSResolver asks the DNS server at addr ("127.0.0.1:5353") for TXT
// records, so that make run can verify domains against its own BIND. An
// empty addr means the system's resolver.
func DNSResolver(addr string) Resolver {
	if addr == "" {
		return net.DefaultResolver.LookupTXT
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	return r.LookupTXT
}

// Option configures Start.
type Option func(*config)

type config struct {
	addr      string
	resolver  Resolver
	now       func() time.Time
	pagesHost string
}

// WithAddr listens on addr (a fixed loopback port for make run) instead of
// a free port.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithResolver sets how verification looks up TXT records.
func WithResolver(r Resolver) Option { return func(c *config) { c.resolver = r } }

// WithDNSServer verifies domains against the DNS server at addr.
func WithDNSServer(addr string) Option { return WithResolver(DNSResolver(addr)) }

// WithClock sets the clock behind enabled_until, certificate expiry and
// timestamps. Rate limiting and Retry-After use the real clock, because the
// client waits on the real one.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithPagesHost sets the instance's Pages host (pages_host in gitlab.yml):
// project sites are under it and custom domains may not be.
func WithPagesHost(host string) Option { return func(c *config) { c.pagesHost = host } }

// Server is a fake GitLab on loopback. Its seeding methods, fault controls
// and observers are safe to call while it serves.
type Server struct {
	// URL is the instance's base URL, what gitlab.WithBaseURL takes (the
	// client adds /api/v4/ itself).
	URL string

	srv       *httptest.Server
	resolver  Resolver
	now       func() time.Time
	pagesHost string

	mu sync.Mutex // guards st
	st *state

	obs observer
	flt faults
}

// Start serves an empty instance; seed it with the Add methods or LoadSeed.
func Start(opts ...Option) *Server {
	c := config{addr: "127.0.0.1:0", resolver: DNSResolver(""), now: time.Now, pagesHost: "pages.atrium.test"}
	for _, o := range opts {
		o(&c)
	}
	s := &Server{resolver: c.resolver, now: c.now, pagesHost: strings.ToLower(c.pagesHost), st: newState()}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		panic(fmt.Sprintf("gitlabfake: listen on %s: %v", c.addr, err))
	}
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// serve is the pipeline every request goes through, in GitLab's order as
// far as a client can tell: routing (an unknown route is 404 whoever asks),
// the injected faults and rate limit (GitLab's throttles sit in front of
// authentication), authentication, then the endpoint.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	rt, params, allowed := match(r)
	name := "(unmatched)"
	if rt != nil {
		name = rt.method + " " + rt.template
	}
	start := time.Now()
	var username string
	defer func() { s.obs.record(r, name, rec.status, username, start) }()

	if d := s.flt.delay(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			rec.status = 0 // never answered: the client went away
			return
		}
	}
	if s.flt.intercept(rec, r) {
		return
	}
	switch {
	case rt == nil && allowed:
		apiError(rec, http.StatusMethodNotAllowed, "error", "405 Not Allowed")
		return
	case rt == nil:
		apiError(rec, http.StatusNotFound, "error", "404 Not Found")
		return
	}
	c := &call{s: s, w: rec, r: r, path: params}
	if err := c.parseParams(); err != nil {
		apiError(rec, http.StatusBadRequest, "error", err.Error())
		return
	}

	s.mu.Lock()
	u := s.st.tokens[token(r)]
	if u != nil {
		username = u.username
	}
	s.mu.Unlock()
	if u == nil {
		apiError(rec, http.StatusUnauthorized, "message", "401 Unauthorized")
		return
	}
	c.user = u
	rt.handle(c)
}

// token is the request's credential: a PRIVATE-TOKEN header, an OAuth
// style "Authorization: Bearer", or GitLab's private_token and
// access_token query parameters (which the request log drops).
func token(r *http.Request) string {
	if t := r.Header.Get("Private-Token"); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	q := r.URL.Query()
	if t := q.Get("private_token"); t != "" {
		return t
	}
	return q.Get("access_token")
}

// recorder remembers the status written, for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
