package gitlabfake

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// world is the instance most tests start from: an admin bot, alice (who
// maintains physics), bob (a physics developer) and carol (no member of
// anything), a public personal project of alice's and a private group
// project.
type world struct {
	t                                  *testing.T
	fake                               *Server
	bot, alice, bob, carol             User
	botTok, aliceTok, bobTok, carolTok string
	clock                              *clock
	dns                                *zone
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, dns: &zone{txt: map[string][]string{}}}
	w.fake = Start(WithClock(w.clock.now), WithResolver(w.dns.lookup))
	t.Cleanup(w.fake.Close)
	w.bot, w.botTok = w.fake.AddUser("atrium-pages-bot", true)
	w.alice, w.aliceTok = w.fake.AddUser("alice", false)
	w.bob, w.bobTok = w.fake.AddUser("bob", false)
	w.carol, w.carolTok = w.fake.AddUser("carol", false)
	mustDo(t, errOf(w.fake.AddProject("alice", "homepage", Public)))
	mustDo(t, errOf(w.fake.AddGroup("physics")))
	mustDo(t, errOf(w.fake.AddProject("physics", "atlas-site", Private)))
	mustDo(t, w.fake.AddGroupMember("physics", "alice", Maintainer))
	mustDo(t, w.fake.AddGroupMember("physics", "bob", Developer))
	return w
}

// client is the real client against the fake, without its own retries so
// that a failure shows at once (see TestClientRetriesOnItsOwn).
func (w *world) client(t *testing.T, token string, opts ...gitlab.ClientOptionFunc) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(token, append([]gitlab.ClientOptionFunc{gitlab.WithBaseURL(w.fake.URL), gitlab.WithoutRetries()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// zone is a TXT-only DNS for the verification tests.
type zone struct {
	mu  sync.Mutex
	txt map[string][]string
}

func (z *zone) set(name string, values ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[name] = values
}

func (z *zone) lookup(_ context.Context, name string) ([]string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	v, ok := z.txt[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return v, nil
}

// errOf drops a seeding call's result, for mustDo.
func errOf[T any](_ T, err error) error { return err }

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// status is the HTTP status an error from the client carries; the client
// turns a 404 into gitlab.ErrNotFound, without the response.
func status(t *testing.T, err error) int {
	t.Helper()
	var er *gitlab.ErrorResponse
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, gitlab.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &er):
		return er.Response.StatusCode
	}
	t.Fatalf("not an API error: %v", err)
	return 0
}

func TestAuth(t *testing.T) {
	w := newWorld(t)
	for _, tok := range []string{"", "glpat-wrong"} {
		_, _, err := w.client(t, tok).Users.CurrentUser()
		if status(t, err) != http.StatusUnauthorized {
			t.Fatalf("token %q: got %v, want 401", tok, err)
		}
		var er *gitlab.ErrorResponse
		if errors.As(err, &er) && er.Message != "{message: 401 Unauthorized}" {
			t.Errorf("message %q", er.Message)
		}
	}
	u, _, err := w.client(t, w.aliceTok).Users.CurrentUser()
	if err != nil || u.Username != "alice" || u.ID != w.alice.ID {
		t.Fatalf("current user: %+v, %v", u, err)
	}
	// An OAuth token is sent as "Authorization: Bearer".
	oc, err := gitlab.NewAuthSourceClient(bearer(w.bobTok), gitlab.WithBaseURL(w.fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	if u, _, err := oc.Users.CurrentUser(); err != nil || u.Username != "bob" {
		t.Fatalf("bearer: %+v, %v", u, err)
	}
	for _, r := range w.fake.Requests() {
		if r.Query != "" {
			t.Errorf("logged a query for %s: %q", r.Path, r.Query)
		}
	}
}

// bearer authenticates as an OAuth client does.
type bearer string

func (bearer) Init(context.Context, *gitlab.Client) error { return nil }

func (b bearer) Header(context.Context) (string, string, error) {
	return "Authorization", "Bearer " + string(b), nil
}

func TestUsers(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	us, _, err := c.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr("BOB")})
	if err != nil || len(us) != 1 || us[0].ID != w.bob.ID {
		t.Fatalf("by username: %+v, %v", us, err)
	}
	if us[0].IsAdmin {
		t.Error("is_admin shown to a non-admin")
	}
	us, _, err = c.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr("bo")})
	if err != nil || len(us) != 0 {
		t.Fatalf("a prefix matched: %+v, %v", us, err)
	}
	u, _, err := w.client(t, w.botTok).Users.GetUser(w.bot.ID, gitlab.GetUsersOptions{})
	if err != nil || !u.IsAdmin || u.Username != "atrium-pages-bot" {
		t.Fatalf("admin by id: %+v, %v", u, err)
	}
	if _, _, err := c.Users.GetUser(9999, gitlab.GetUsersOptions{}); status(t, err) != http.StatusNotFound {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestProjectByPathAndID(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.carolTok)
	p, _, err := c.Projects.GetProject("alice/homepage", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.PathWithNamespace != "alice/homepage" || p.Path != "homepage" || p.Visibility != gitlab.PublicVisibility ||
		p.PagesAccessLevel != gitlab.EnabledAccessControl || p.Namespace == nil || p.Namespace.Kind != "user" ||
		p.WebURL != w.fake.URL+"/alice/homepage" {
		t.Fatalf("by path: %+v %+v", p, p.Namespace)
	}
	byID, _, err := c.Projects.GetProject(p.ID, nil)
	if err != nil || byID.PathWithNamespace != "alice/homepage" {
		t.Fatalf("by id: %+v, %v", byID, err)
	}
	if _, _, err := c.Projects.GetProject("alice/nothing", nil); status(t, err) != http.StatusNotFound {
		t.Fatalf("missing project: %v", err)
	}
}

func TestPrivateProjectInvisibleToNonMembers(t *testing.T) {
	w := newWorld(t)
	if _, _, err := w.client(t, w.carolTok).Projects.GetProject("physics/atlas-site", nil); status(t, err) != http.StatusNotFound {
		t.Fatalf("carol sees a private project: %v", err)
	}
	for _, tok := range []string{w.aliceTok, w.bobTok, w.botTok} {
		p, _, err := w.client(t, tok).Projects.GetProject("physics/atlas-site", nil)
		if err != nil || p.Visibility != gitlab.PrivateVisibility || p.PagesAccessLevel != gitlab.PrivateAccessControl {
			t.Fatalf("member or admin: %+v, %v", p, err)
		}
	}
	p, _, _ := w.client(t, w.bobTok).Projects.GetProject("physics/atlas-site", nil)
	if p.Permissions == nil || p.Permissions.ProjectAccess != nil || p.Permissions.GroupAccess == nil || p.Permissions.GroupAccess.AccessLevel != gitlab.DeveloperPermissions {
		t.Fatalf("bob's permissions: %+v", p.Permissions)
	}
}

func TestInheritedMembership(t *testing.T) {
	w := newWorld(t)
	mustDo(t, errOf(w.fake.AddGroup("physics/detectors")))
	mustDo(t, errOf(w.fake.AddProject("physics/detectors", "pixel", Private)))
	// bob is a direct Maintainer of the subgroup's project, carol a
	// Reporter of the top group: bob's higher role wins over his group one.
	mustDo(t, w.fake.AddProjectMember("physics/detectors/pixel", "bob", Maintainer))
	mustDo(t, w.fake.AddGroupMember("physics", "carol", Reporter))
	c := w.client(t, w.carolTok)

	all, _, err := c.ProjectMembers.ListAllProjectMembers("physics/detectors/pixel", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]gitlab.AccessLevelValue{}
	for _, m := range all {
		got[m.Username] = m.AccessLevel
	}
	want := map[string]gitlab.AccessLevelValue{"alice": 40, "bob": 40, "carol": 20}
	if len(got) != len(want) {
		t.Fatalf("all members: %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d", k, got[k], v)
		}
	}
	m, _, err := c.ProjectMembers.GetInheritedProjectMember("physics/detectors/pixel", w.alice.ID)
	if err != nil || m.AccessLevel != gitlab.MaintainerPermissions {
		t.Fatalf("alice inherited: %+v, %v", m, err)
	}
	if _, _, err := c.ProjectMembers.GetProjectMember("physics/detectors/pixel", w.alice.ID); status(t, err) != http.StatusNotFound {
		t.Fatalf("alice is no direct member: %v", err)
	}
	direct, _, err := c.ProjectMembers.ListProjectMembers("physics/detectors/pixel", nil)
	if err != nil || len(direct) != 1 || direct[0].Username != "bob" {
		t.Fatalf("direct members: %+v, %v", direct, err)
	}
	if _, _, err := c.ProjectMembers.GetInheritedProjectMember("alice/homepage", w.bob.ID); status(t, err) != http.StatusNotFound {
		t.Fatalf("bob in alice's project: %v", err)
	}
	owner, _, err := c.ProjectMembers.GetProjectMember("alice/homepage", w.alice.ID)
	if err != nil || owner.AccessLevel != gitlab.OwnerPermissions {
		t.Fatalf("alice owns her project: %+v, %v", owner, err)
	}
}

func TestPagesAccessLevel(t *testing.T) {
	w := newWorld(t)
	opt := &gitlab.EditProjectOptions{PagesAccessLevel: gitlab.Ptr(gitlab.PublicAccessControl)}
	if _, _, err := w.client(t, w.bobTok).Projects.EditProject("physics/atlas-site", opt); status(t, err) != http.StatusForbidden {
		t.Fatalf("developer edits: %v", err)
	}
	p, _, err := w.client(t, w.aliceTok).Projects.EditProject("physics/atlas-site", opt)
	if err != nil || p.PagesAccessLevel != gitlab.PublicAccessControl {
		t.Fatalf("maintainer edits: %+v, %v", p, err)
	}
	if got, _ := w.fake.Project("physics/atlas-site"); got.PagesAccessLevel != "public" {
		t.Fatalf("state: %+v", got)
	}
	bad := &gitlab.EditProjectOptions{PagesAccessLevel: gitlab.Ptr(gitlab.AccessControlValue("everyone"))}
	_, _, err = w.client(t, w.botTok).Projects.EditProject("physics/atlas-site", bad)
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusBadRequest || er.Message != "{error: pages_access_level does not have a valid value}" {
		t.Fatalf("bad value: %v", err)
	}
	if _, _, err := w.client(t, w.carolTok).Projects.EditProject("physics/atlas-site", opt); status(t, err) != http.StatusNotFound {
		t.Fatalf("outsider edits a private project: %v", err)
	}
}

func TestPagesSettings(t *testing.T) {
	w := newWorld(t)
	pg, _, err := w.client(t, w.aliceTok).Pages.GetPages("physics/atlas-site")
	if err != nil || pg.URL != "http://physics.pages.atrium.test/atlas-site" || len(pg.Deployments) != 0 {
		t.Fatalf("pages: %+v, %v", pg, err)
	}
	if _, _, err := w.client(t, w.bobTok).Pages.GetPages("physics/atlas-site"); status(t, err) != http.StatusForbidden {
		t.Fatalf("developer reads pages settings: %v", err)
	}
	mustDo(t, w.fake.SetPagesAccessLevel("physics/atlas-site", "disabled"))
	if _, _, err := w.client(t, w.aliceTok).Pages.GetPages("physics/atlas-site"); status(t, err) != http.StatusNotFound {
		t.Fatalf("pages disabled: %v", err)
	}
}
