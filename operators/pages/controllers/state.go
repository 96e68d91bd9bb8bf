package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// GitLab is the operator's view of GitLab: the calls of package gitlab,
// as an interface so that the edge is one place.
type GitLab interface {
	Project(ctx context.Context, ref string) (gitlab.Project, error)
	SetPagesAccess(ctx context.Context, projectID int64, level string) (gitlab.Project, error)
	AccessLevel(ctx context.Context, projectID int64, username string) (int, error)
	AllDomains(ctx context.Context) ([]gitlab.Domain, error)
	ProjectDomains(ctx context.Context, projectID int64) ([]gitlab.Domain, error)
	CreateDomain(ctx context.Context, projectID int64, name string, tls gitlab.TLS) (gitlab.Domain, error)
	UpdateDomain(ctx context.Context, projectID int64, name string, tls gitlab.TLS) (gitlab.Domain, error)
	DeleteDomain(ctx context.Context, projectID int64, name string) error
	VerifyDomain(ctx context.Context, projectID int64, name string) (gitlab.Domain, error)
}

// State reads GitLab in lists and remembers what it read, so that a
// resync with nothing changed costs one request per GitLab project (the
// project, for its access level) plus the pages of the instance's domain
// list, shared by every site. Reads younger than Fresh are reused; a
// site whose spec changed reads afresh. What the operator writes updates
// the state at once.
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
	instance     read[map[string]gitlab.Domain]
	notAdmin     bool
	perProject   map[int64]read[map[string]gitlab.Domain]
	accessLevels map[accessKey]read[int]
}

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
		if !s.fresh(inst.at, s.Fresh, force) {
			err := s.readInstance(ctx)
			switch {
			case gitlab.ReasonOf(err) == gitlab.Forbidden:
				s.mu.Lock()
				s.notAdmin = true
				s.mu.Unlock()
				return s.Domain(ctx, projectID, name, force)
			case err != nil:
				return gitlab.Domain{}, false, err
			}
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

// readInstance reads the instance-wide domain list; while one site reads
// it, the others come back (or, when an older list is there, use it).
func (s *State) readInstance(ctx context.Context) error {
	if !s.begin("instance") {
		s.mu.Lock()
		stale := s.instance.v != nil
		s.mu.Unlock()
		if stale {
			return nil
		}
		return ErrBusy
	}
	defer s.end("instance")
	list, err := s.GitLab.AllDomains(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.instance = read[map[string]gitlab.Domain]{v: byName(list), at: s.now()}
	s.mu.Unlock()
	return nil
}

// PutDomain remembers a domain the operator wrote or read.
func (s *State) PutDomain(d gitlab.Domain) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.instance.v != nil {
		s.instance.v[d.Name] = d
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
