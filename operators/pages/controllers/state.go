package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/atrium-dev/atrium/internal/gate"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// GitLab is the operator's view of GitLab: the calls of package gitlab,
// as an interface so that the edge is one place.
type GitLab interface {
	Project(ctx context.Context, ref string) (gitlab.Project, error)
	SetPagesAccess(ctx context.Context, projectID int64, level string) (gitlab.Project, error)
	AccessLevel(ctx context.Context, projectID int64, username string) (int, error)
	DomainsPage(ctx context.Context, page int64) ([]gitlab.Domain, int64, error)
	ProjectDomains(ctx context.Context, projectID int64) ([]gitlab.Domain, error)
	ProjectDomain(ctx context.Context, projectID int64, name string) (gitlab.Domain, bool, error)
	CreateDomain(ctx context.Context, projectID int64, name string, tls gitlab.TLS) (gitlab.Domain, error)
	UpdateDomain(ctx context.Context, projectID int64, name string, tls gitlab.TLS) (gitlab.Domain, error)
	DeleteDomain(ctx context.Context, projectID int64, name string) error
	VerifyDomain(ctx context.Context, projectID int64, name string) (gitlab.Domain, error)
}

// State reads GitLab in lists and remembers what it read, so that a
// resync with nothing changed costs one request per GitLab project (the
// project, for its access level) plus the pages of the instance's domain
// list, shared by every site. Reads younger than Fresh are reused; a
// site whose spec changed reads its project and its domain afresh. What
// the operator writes updates the state at once.
type State struct {
	GitLab GitLab
	// Fresh is how long a read is reused.
	Fresh time.Duration
	// AccessFresh is how long a user's access level in a project is
	// reused: losing Maintainer in GitLab stops new changes within it.
	AccessFresh time.Duration
	Now         func() time.Time

	mu sync.Mutex
	// inflight are the reads and writes being made now, by key: a site
	// that needs one does not wait for it in its worker, it comes back
	// (ErrBusy), so the workers go on with the sites of other projects.
	inflight map[string]bool
	projects map[string]read[gitlab.Project]
	// instance is the instance-wide domain list, when the token may read
	// it (an admin's); otherwise domains are read per project.
	instance read[map[string]gitlab.Domain]
	// listing is the instance's list being read, page by page: a page
	// the client's gate keeps back (or a failed one) leaves what was read
	// here, and the site kept back goes on from that page at its turn.
	// Reading it again from page 1 would, on an instance with more pages
	// than the pacing's burst, never finish.
	listing  *listing
	notAdmin bool
	// onListed is called when a list has been read to its end, for the
	// sites told to wait for it (ErrListing).
	onListed     func()
	perProject   map[int64]read[map[string]gitlab.Domain]
	accessLevels map[accessKey]read[int]
}

// listing is an instance-wide domain list read in part.
type listing struct {
	domains map[string]gitlab.Domain
	next    int64
	// driver is the gate key of the site that reads the list on: the
	// pacing kept its page back, and it comes back at due. The other
	// sites wait for the whole list (ErrListing), not page by page.
	driver string
	due    time.Time
	// started is when page 1 was read, the age the whole list is given.
	started time.Time
	// touched is when a page was read last: a listing left for Fresh
	// starts again from page 1. One still going on is never restarted,
	// however long GitLab's pace makes it, or a list that takes longer
	// than Fresh would never end.
	touched time.Time
}

// listKey is the gate's key for the instance-wide list: whichever site
// goes on with the list takes the turn the pacing gave the page, not a
// turn of its own.
const listKey = "instance-domain-list"

type read[T any] struct {
	v  T
	at time.Time
}

type accessKey struct {
	project int64
	user    string
}

// ErrBusy says another site is asking GitLab for the same thing right now;
// the site comes back for the answer.
var ErrBusy = errors.New("another site is asking GitLab for the same")

// ErrListing says the instance's domain list is being read, page by page
// at GitLab's pace, by another site, and there is none read before: the
// site waits until the list is whole (it is woken then).
var ErrListing = errors.New("the instance's Pages domains are being read")

// takeOver is how long after its due instant a site that reads the list
// on may stay away before another takes its place (it was deleted, or
// needed the list no more).
const takeOver = 5 * time.Second

// Listed says whether an instance-wide list has been read to its end (or
// the token is not an admin's, and there is none to wait for).
func (s *State) Listed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notAdmin || s.instance.v != nil
}

// begin marks key in flight, or reports that it already is.
func (s *State) begin(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[key] {
		return false
	}
	if s.inflight == nil {
		s.inflight = map[string]bool{}
	}
	s.inflight[key] = true
	return true
}

func (s *State) end(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, key)
}

func (s *State) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *State) fresh(at time.Time, d time.Duration, force bool) bool {
	return !force && !at.IsZero() && s.now().Sub(at) < d
}

// Project reads a GitLab project by reference.
func (s *State) Project(ctx context.Context, ref string, force bool) (gitlab.Project, error) {
	s.mu.Lock()
	r, ok := s.projects[ref]
	s.mu.Unlock()
	if ok && s.fresh(r.at, s.Fresh, force) {
		return r.v, nil
	}
	key := "project/" + ref
	if !s.begin(key) {
		return gitlab.Project{}, ErrBusy
	}
	defer s.end(key)
	p, err := s.GitLab.Project(ctx, ref)
	if err == nil {
		s.putProject(ref, p)
	}
	return p, err
}

func (s *State) putProject(ref string, p gitlab.Project) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.projects == nil {
		s.projects = map[string]read[gitlab.Project]{}
	}
	s.projects[ref] = read[gitlab.Project]{v: p, at: s.now()}
}

// SetPagesAccess sets a project's access level and remembers it; the
// sites of one project asking at once share one request.
func (s *State) SetPagesAccess(ctx context.Context, ref string, projectID int64, level string) (gitlab.Project, error) {
	key := fmt.Sprintf("access/%d", projectID)
	if !s.begin(key) {
		return gitlab.Project{}, ErrBusy
	}
	defer s.end(key)
	p, err := s.GitLab.SetPagesAccess(ctx, projectID, level)
	if err == nil {
		s.putProject(ref, p)
	}
	return p, err
}

// AccessLevel is a GitLab user's access level in a project.
func (s *State) AccessLevel(ctx context.Context, projectID int64, user string, force bool) (int, error) {
	k := accessKey{projectID, user}
	s.mu.Lock()
	r, ok := s.accessLevels[k]
	s.mu.Unlock()
	if ok && s.fresh(r.at, s.AccessFresh, force) {
		return r.v, nil
	}
	key := fmt.Sprintf("member/%d/%s", projectID, user)
	if !s.begin(key) {
		return 0, ErrBusy
	}
	defer s.end(key)
	level, err := s.GitLab.AccessLevel(ctx, projectID, user)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	if s.accessLevels == nil {
		s.accessLevels = map[accessKey]read[int]{}
	}
	s.accessLevels[k] = read[int]{v: level, at: s.now()}
	s.mu.Unlock()
	return level, nil
}

// Domain returns a Pages domain wherever it is in GitLab (found false
// when it is nowhere), reading the instance's list when the token may,
// else the project's own list (then a domain of another project is not
// seen until creating it is refused as taken).
func (s *State) Domain(ctx context.Context, projectID int64, name string, force bool) (gitlab.Domain, bool, error) {
	s.mu.Lock()
	notAdmin, inst := s.notAdmin, s.instance
	s.mu.Unlock()
	if !notAdmin {
		if !s.fresh(inst.at, s.Fresh, false) {
			err := s.readInstance(ctx)
			switch {
			case gitlab.ReasonOf(err) == gitlab.Forbidden:
				s.mu.Lock()
				s.notAdmin = true
				s.listing = nil
				woken := s.onListed
				s.mu.Unlock()
				if woken != nil {
					// Sites waiting for the list read their projects'.
					woken()
				}
				return s.Domain(ctx, projectID, name, force)
			case err != nil && (inst.v == nil || !transient(err)):
				return gitlab.Domain{}, false, err
			}
			// A list kept back by the pacing (or GitLab failing for a
			// while) leaves the one read before in use: the create the
			// site may make next is GitLab's own check.
		}
		if force {
			return s.readOne(ctx, projectID, name)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		d, ok := s.instance.v[name]
		return d, ok, nil
	}
	s.mu.Lock()
	r := s.perProject[projectID]
	s.mu.Unlock()
	if !s.fresh(r.at, s.Fresh, force) {
		key := fmt.Sprintf("domains/%d", projectID)
		if !s.begin(key) {
			if r.v == nil {
				return gitlab.Domain{}, false, ErrBusy
			}
		} else {
			defer s.end(key)
			list, err := s.GitLab.ProjectDomains(ctx, projectID)
			if err != nil {
				return gitlab.Domain{}, false, err
			}
			r = read[map[string]gitlab.Domain]{v: byName(list), at: s.now()}
			s.mu.Lock()
			if s.perProject == nil {
				s.perProject = map[int64]read[map[string]gitlab.Domain]{}
			}
			s.perProject[projectID] = r
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.perProject[projectID].v[name]
	return d, ok, nil
}

// readOne reads the domain afresh for a site whose spec changed (or
// whose create GitLab refused as taken), asking the project for it: one
// request, where reading the instance's list again would be one a page
// for each such site (a GitOps change to many sites at once). A domain of
// another project is still seen in the instance's list.
func (s *State) readOne(ctx context.Context, projectID int64, name string) (gitlab.Domain, bool, error) {
	d, found, err := s.GitLab.ProjectDomain(ctx, projectID, name)
	if err != nil {
		return gitlab.Domain{}, false, err
	}
	if found {
		s.PutDomain(d)
		return d, true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.instance.v[name]; ok && d.ProjectID != projectID {
		return d, true, nil
	}
	delete(s.instance.v, name)
	if s.listing != nil {
		delete(s.listing.domains, name)
	}
	return gitlab.Domain{}, false, nil
}

// readInstance reads the instance-wide domain list, going on from where
// an earlier read stopped; while one site reads it, the others come back
// (or, when an older list is there, use it).
func (s *State) readInstance(ctx context.Context) error {
	if !s.begin("instance") {
		return s.waitForList()
	}
	defer s.end("instance")
	me := gate.KeyOf(ctx)
	s.mu.Lock()
	l := s.listing
	if l == nil || s.now().Sub(l.touched) >= s.Fresh {
		l = &listing{domains: map[string]gitlab.Domain{}, next: 1}
		s.listing = l
	}
	if l.driver != "" && l.driver != me && s.now().Before(l.due.Add(takeOver)) {
		s.mu.Unlock()
		s.end("instance")
		return s.waitForList()
	}
	l.driver = me
	s.mu.Unlock()
	ctx = gitlab.For(ctx, listKey)
	for l.next > 0 {
		page, next, err := s.GitLab.DomainsPage(ctx, l.next)
		if err != nil {
			s.mu.Lock()
			if wait, ok := gitlab.Transient(err); ok && gitlab.Gated(err) {
				// This site comes back at the page's turn and goes on.
				l.due = s.now().Add(wait)
			} else {
				// Failed: whichever site asks next tries again.
				l.driver = ""
			}
			s.mu.Unlock()
			return err
		}
		s.mu.Lock()
		if l.next == 1 {
			l.started = s.now()
		}
		l.touched = s.now()
		for _, d := range page {
			l.domains[d.Name] = d
		}
		l.next = next
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.instance = read[map[string]gitlab.Domain]{v: l.domains, at: l.started}
	s.listing = nil
	woken := s.onListed
	s.mu.Unlock()
	if woken != nil {
		woken()
	}
	return nil
}

// waitForList is what a site gets while another reads the list: the list
// before when there is one, else ErrListing.
func (s *State) waitForList() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instance.v != nil {
		return nil
	}
	return ErrListing
}

// transient says err is worth waiting out: a call the gate kept back, or
// one GitLab may answer later.
func transient(err error) bool {
	if gitlab.Gated(err) {
		return true
	}
	_, ok := gitlab.Transient(err)
	return ok
}

// CreateDomain creates a Pages domain in a project and remembers it.
// When GitLab says the name is taken, the project is asked whether it is
// its own (created false, no error): the list read before may have missed
// it, made by an earlier create whose answer was lost, made by hand since,
// or shifted between two pages of the list while domains came and went.
// Taken is then left for a domain of another project.
func (s *State) CreateDomain(ctx context.Context, projectID int64, name string, tls gitlab.TLS) (d gitlab.Domain, created bool, err error) {
	d, err = s.GitLab.CreateDomain(ctx, projectID, name, tls)
	if err == nil {
		s.PutDomain(d)
		return d, true, nil
	}
	if gitlab.ReasonOf(err) != gitlab.Taken {
		return d, false, err
	}
	own, found, rerr := s.GitLab.ProjectDomain(ctx, projectID, name)
	switch {
	case rerr != nil:
		return d, false, rerr
	case !found:
		return d, false, err
	}
	s.PutDomain(own)
	return own, false, nil
}

// PutDomain remembers a domain the operator wrote or read.
func (s *State) PutDomain(d gitlab.Domain) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instance.v != nil {
		s.instance.v[d.Name] = d
	}
	if s.listing != nil {
		s.listing.domains[d.Name] = d
	}
	if r, ok := s.perProject[d.ProjectID]; ok {
		r.v[d.Name] = d
	}
}

// ForgetDomain forgets a domain the operator deleted.
func (s *State) ForgetDomain(projectID int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instance.v != nil {
		delete(s.instance.v, name)
	}
	if s.listing != nil {
		delete(s.listing.domains, name)
	}
	if r, ok := s.perProject[projectID]; ok {
		delete(r.v, name)
	}
}

func byName(list []gitlab.Domain) map[string]gitlab.Domain {
	out := make(map[string]gitlab.Domain, len(list))
	for _, d := range list {
		out[d.Name] = d
	}
	return out
}
