package gitlabfake

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The seeding API: the state a test or make run starts from, set as an
// administrator would in GitLab's UI. Names (usernames, paths, domains)
// are matched ignoring case, as GitLab does.

// AddUser adds a user with a personal namespace and returns it with a
// fresh token. A duplicate or invalid username is a bug in the seed, and
// panics.
func (s *Server) AddUser(username string, admin bool) (User, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.st.addUser(username, "", admin, s.now())
	if err != nil {
		panic("gitlabfake: " + err.Error())
	}
	t := "glpat-" + randomHex(10)
	s.st.tokens[t] = u
	return u.export(), t
}

// AddToken gives a user another token, such as a fixed dev token.
func (s *Server) AddToken(username, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addToken(username, token)
}

func (st *state) addToken(username, token string) error {
	u, err := st.userNamed(username)
	if err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("empty token for %q", username)
	}
	if other, ok := st.tokens[token]; ok && other != u {
		return fmt.Errorf("a token of %q is given to %q too", other.username, username)
	}
	st.tokens[token] = u
	return nil
}

// User returns a user by username.
func (s *Server) User(username string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.st.userNamed(username)
	if err != nil {
		return User{}, false
	}
	return u.export(), true
}

// AddGroup adds a group by full path ("physics/detectors"), and its
// missing ancestors.
func (s *Server) AddGroup(fullPath string) (Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.st.addGroup(fullPath, s.now())
	if err != nil {
		return Group{}, err
	}
	return g.exportGroup(), nil
}

// AddGroupMember makes a user a member of a group (or changes its role);
// the group's projects and subgroups inherit the membership.
func (s *Server) AddGroupMember(group, username string, level AccessLevel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.st.group(group)
	if err != nil {
		return err
	}
	u, err := s.st.userNamed(username)
	if err != nil {
		return err
	}
	g.members[u.id] = level
	return nil
}

// AddProject adds a project in a namespace, a username or a group's full
// path. In a user's namespace the user becomes its Owner, as in GitLab.
func (s *Server) AddProject(namespace, path string, visibility Visibility) (Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.addProject(namespace, path, visibility, s.now())
	if err != nil {
		return Project{}, err
	}
	return p.export(), nil
}

// Project returns a project by full path.
func (s *Server) Project(fullPath string) (Project, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.project(fullPath)
	if err != nil {
		return Project{}, false
	}
	return p.export(), true
}

// AddProjectMember makes a user a direct member of a project (or changes
// its role; NoAccess removes it).
func (s *Server) AddProjectMember(project, username string, level AccessLevel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.project(project)
	if err != nil {
		return err
	}
	u, err := s.st.userNamed(username)
	if err != nil {
		return err
	}
	if level == NoAccess {
		delete(p.members, u.id)
	} else {
		p.members[u.id] = level
	}
	return nil
}

// SetPagesAccessLevel sets a project's pages_access_level.
func (s *Server) SetPagesAccessLevel(project, level string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.project(project)
	if err != nil {
		return err
	}
	if !slices.Contains(pagesAccessLevels, level) {
		return fmt.Errorf("pages_access_level %q is not one of %s", level, strings.Join(pagesAccessLevels, ", "))
	}
	p.pagesAccess = level
	return nil
}

// AddDomain gives a project a Pages domain, unverified, without auto SSL
// and with a random verification code; a domain another project holds is
// how a "taken" story starts.
func (s *Server) AddDomain(project, name string) (Domain, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.project(project)
	if err != nil {
		return Domain{}, err
	}
	d, err := s.st.addDomain(p, name)
	if err != nil {
		return Domain{}, err
	}
	return d.export(), nil
}

// SetDomain changes a seeded domain: verified (enabled for the
// verification period from now, as a successful check would), auto SSL,
// and the verification code if code is not empty (so that a DNS zone can
// carry the record before the fake starts).
func (s *Server) SetDomain(name string, verified, autoSSL bool, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.domains[strings.ToLower(name)]
	if d == nil {
		return fmt.Errorf("no domain %q", name)
	}
	d.verified, d.autoSSL = verified, autoSSL
	if verified {
		until := s.now().Add(verificationPeriod)
		d.enabledUntil = &until
	}
	if code != "" {
		d.code = code
	}
	return nil
}

// Domain returns a domain as the fake holds it now, auto SSL's
// certificate included once a read has issued it.
func (s *Server) Domain(name string) (Domain, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.st.domains[strings.ToLower(name)]
	if d == nil {
		return Domain{}, false
	}
	return d.export(), true
}

// SetClock replaces the clock given to Start, for a test that moves time on.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetResolver replaces how verification looks up TXT records.
func (s *Server) SetResolver(r Resolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resolver = r
}

// RemoveDomain deletes a domain as someone in GitLab's UI would, behind
// the operator's back.
func (s *Server) RemoveDomain(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(name)
	if s.st.domains[k] == nil {
		return fmt.Errorf("no domain %q", name)
	}
	delete(s.st.domains, k)
	return nil
}
