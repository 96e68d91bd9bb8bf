package gitlabfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AccessLevel is a GitLab role as the API numbers it.
type AccessLevel int

// The roles a member can hold; the numbers are GitLab's.
const (
	NoAccess   AccessLevel = 0
	Guest      AccessLevel = 10
	Reporter   AccessLevel = 20
	Developer  AccessLevel = 30
	Maintainer AccessLevel = 40
	Owner      AccessLevel = 50
)

// Visibility is a project's visibility level.
type Visibility string

// The visibility levels GitLab knows.
const (
	Private  Visibility = "private"
	Internal Visibility = "internal"
	Public   Visibility = "public"
)

// The pages_access_level values the API accepts.
var pagesAccessLevels = []string{"disabled", "private", "enabled", "public"}

// User is a seeded user as tests see it.
type User struct {
	ID       int64
	Username string
	Name     string
	Admin    bool
}

// Group is a seeded group; FullPath is "a/b" for a subgroup.
type Group struct {
	ID       int64
	FullPath string
	ParentID int64
}

// Project is a seeded project as tests see it.
type Project struct {
	ID                int64
	PathWithNamespace string
	Visibility        Visibility
	PagesAccessLevel  string
}

// Domain is a Pages domain as tests see it. CertificateSource is
// "user_provided", "gitlab_provided" (auto SSL) or "" without one.
type Domain struct {
	Domain            string
	ProjectID         int64
	AutoSSLEnabled    bool
	Verified          bool
	VerificationCode  string
	EnabledUntil      *time.Time
	Certificate       string
	CertificateSource string
	CertificateExpiry time.Time
}

type user struct {
	id       int64
	username string
	name     string
	admin    bool
	created  time.Time
}

// namespace is a user's personal namespace or a group: projects live in
// one, and group members reach the projects of the group's subgroups too.
type namespace struct {
	id       int64
	kind     string // "user" or "group"
	path     string // last segment
	fullPath string
	parent   *namespace
	owner    *user // for a user's namespace
	members  map[int64]AccessLevel
	created  time.Time
}

type project struct {
	id          int64
	path        string
	ns          *namespace
	visibility  Visibility
	pagesAccess string
	members     map[int64]AccessLevel
	created     time.Time
}

func (p *project) fullPath() string { return p.ns.fullPath + "/" + p.path }

type domain struct {
	id           int64
	name         string
	project      *project
	autoSSL      bool
	verified     bool
	code         string
	enabledUntil *time.Time
	cert         *certificate
}

// state is everything the fake knows; Server.mu guards it.
type state struct {
	next       int64 // one sequence per kind would look the same to a client
	users      map[int64]*user
	byUsername map[string]*user
	tokens     map[string]*user
	namespaces map[string]*namespace // by lower-case full path
	projects   map[int64]*project
	byPath     map[string]*project // by lower-case full path
	domains    map[string]*domain  // by lower-case name
}

func newState() *state {
	return &state{
		users: map[int64]*user{}, byUsername: map[string]*user{}, tokens: map[string]*user{},
		namespaces: map[string]*namespace{}, projects: map[int64]*project{},
		byPath: map[string]*project{}, domains: map[string]*domain{},
	}
}

func (st *state) id() int64 { st.next++; return st.next }

// level is a user's role in a project: the highest of its direct
// membership and its memberships of the project's group and the group's
// ancestors, as GitLab's inherited membership has it.
func (p *project) level(u *user) AccessLevel {
	l := p.members[u.id]
	return max(l, p.ns.inherited(u))
}

// inherited is the highest role a user holds in a namespace or its ancestors.
func (n *namespace) inherited(u *user) AccessLevel {
	var l AccessLevel
	for g := n; g != nil; g = g.parent {
		l = max(l, g.members[u.id])
	}
	return l
}

// canRead says whether a user can see a project at all: GitLab answers 404
// for a private project to anyone who is not a member, so that its
// existence does not leak.
func (p *project) canRead(u *user) bool {
	switch {
	case u.admin, p.visibility == Public, p.visibility == Internal:
		return true
	}
	return p.level(u) >= Guest
}

func (p *project) canMaintain(u *user) bool { return u.admin || p.level(u) >= Maintainer }

// defaultPagesAccess is the level a new project starts with: everyone for a
// public project, members only otherwise (GitLab with Pages access control).
func defaultPagesAccess(v Visibility) string {
	if v == Public {
		return "enabled"
	}
	return "private"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (st *state) addUser(username, name string, admin bool, now time.Time) (*user, error) {
	if !validPath(username) {
		return nil, fmt.Errorf("username %q is not a valid path", username)
	}
	key := strings.ToLower(username)
	if _, ok := st.byUsername[key]; ok {
		return nil, fmt.Errorf("user %q exists", username)
	}
	if _, ok := st.namespaces[key]; ok {
		return nil, fmt.Errorf("namespace %q exists", username)
	}
	if name == "" {
		name = username
	}
	u := &user{id: st.id(), username: username, name: name, admin: admin, created: now}
	st.users[u.id] = u
	st.byUsername[key] = u
	st.namespaces[key] = &namespace{id: st.id(), kind: "user", path: username, fullPath: username, owner: u, members: map[int64]AccessLevel{}, created: now}
	return u, nil
}

// addGroup makes a group and, as seeding is easier so, any missing ancestor.
func (st *state) addGroup(fullPath string, now time.Time) (*namespace, error) {
	segs := strings.Split(strings.Trim(fullPath, "/"), "/")
	var parent *namespace
	for i, seg := range segs {
		if !validPath(seg) {
			return nil, fmt.Errorf("group path %q: %q is not a valid path", fullPath, seg)
		}
		p := strings.Join(segs[:i+1], "/")
		if n, ok := st.namespaces[strings.ToLower(p)]; ok {
			if n.kind != "group" {
				return nil, fmt.Errorf("group path %q: %q is a user", fullPath, p)
			}
			parent = n
			continue
		}
		n := &namespace{id: st.id(), kind: "group", path: seg, fullPath: p, parent: parent, members: map[int64]AccessLevel{}, created: now}
		st.namespaces[strings.ToLower(p)] = n
		parent = n
	}
	return parent, nil
}

func (st *state) group(fullPath string) (*namespace, error) {
	n, ok := st.namespaces[strings.ToLower(fullPath)]
	if !ok || n.kind != "group" {
		return nil, fmt.Errorf("no group %q", fullPath)
	}
	return n, nil
}

func (st *state) userNamed(username string) (*user, error) {
	u, ok := st.byUsername[strings.ToLower(username)]
	if !ok {
		return nil, fmt.Errorf("no user %q", username)
	}
	return u, nil
}

func (st *state) addProject(nsPath, path string, v Visibility, now time.Time) (*project, error) {
	n, ok := st.namespaces[strings.ToLower(nsPath)]
	if !ok {
		return nil, fmt.Errorf("no namespace %q", nsPath)
	}
	if !validPath(path) {
		return nil, fmt.Errorf("project path %q is not a valid path", path)
	}
	if !slices.Contains([]Visibility{Private, Internal, Public}, v) {
		return nil, fmt.Errorf("visibility %q is not private, internal or public", v)
	}
	full := n.fullPath + "/" + path
	if _, ok := st.byPath[strings.ToLower(full)]; ok {
		return nil, fmt.Errorf("project %q exists", full)
	}
	p := &project{id: st.id(), path: path, ns: n, visibility: v, pagesAccess: defaultPagesAccess(v), members: map[int64]AccessLevel{}, created: now}
	// GitLab makes a personal project's owner its Owner member.
	if n.owner != nil {
		p.members[n.owner.id] = Owner
	}
	st.projects[p.id] = p
	st.byPath[strings.ToLower(full)] = p
	return p, nil
}

func (st *state) project(fullPath string) (*project, error) {
	p, ok := st.byPath[strings.ToLower(fullPath)]
	if !ok {
		return nil, fmt.Errorf("no project %q", fullPath)
	}
	return p, nil
}

// addDomain is the seeding path; the API's create goes through the same
// checks (see createDomain) but reports them GitLab's way.
func (st *state) addDomain(p *project, name string) (*domain, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if !validHostname(name) {
		return nil, fmt.Errorf("domain %q is not a valid hostname", name)
	}
	if _, ok := st.domains[name]; ok {
		return nil, fmt.Errorf("domain %q is taken", name)
	}
	d := &domain{id: st.id(), name: name, project: p, code: randomHex(16)}
	st.domains[name] = d
	return d, nil
}

// validPath is GitLab's path rule, simplified: letters, digits, '_', '-'
// and '.', not starting with '-' or '.', not ending in '.git' or '.'.
func validPath(s string) bool {
	if s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.HasSuffix(s, ".git") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// validHostname accepts lower-case DNS names of at least two labels.
func validHostname(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func (u *user) export() User {
	return User{ID: u.id, Username: u.username, Name: u.name, Admin: u.admin}
}

func (n *namespace) exportGroup() Group {
	g := Group{ID: n.id, FullPath: n.fullPath}
	if n.parent != nil {
		g.ParentID = n.parent.id
	}
	return g
}

func (p *project) export() Project {
	return Project{ID: p.id, PathWithNamespace: p.fullPath(), Visibility: p.visibility, PagesAccessLevel: p.pagesAccess}
}

func (d *domain) export() Domain {
	out := Domain{Domain: d.name, ProjectID: d.project.id, AutoSSLEnabled: d.autoSSL, Verified: d.verified, VerificationCode: d.code}
	if d.enabledUntil != nil {
		t := *d.enabledUntil
		out.EnabledUntil = &t
	}
	if d.cert != nil {
		out.Certificate, out.CertificateSource, out.CertificateExpiry = d.cert.pem, d.cert.source, d.cert.notAfter
	}
	return out
}
