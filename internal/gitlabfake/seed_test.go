package gitlabfake

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

const exampleSeed = "../../docs/examples/gitlab/seed.yaml"

func TestExampleSeed(t *testing.T) {
	fake := Start()
	t.Cleanup(fake.Close)
	if err := fake.LoadSeed(exampleSeed); err != nil {
		t.Fatal(err)
	}
	client := func(token string) *gitlab.Client {
		c, err := gitlab.NewClient(token, gitlab.WithBaseURL(fake.URL), gitlab.WithoutRetries())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bot, alice, bob, carol := client("atrium-dev-pages-bot-token"), client("atrium-dev-alice-token"), client("atrium-dev-bob-token"), client("atrium-dev-carol-token")

	if u, _, err := bot.Users.CurrentUser(); err != nil || !u.IsAdmin || u.Name != "Atrium Pages bot" {
		t.Fatalf("bot: %+v, %v", u, err)
	}
	site, _, err := alice.Projects.GetProject("physics/atlas-site", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := fake.User("alice")
	b, _ := fake.User("bob")
	for who, want := range map[int64]gitlab.AccessLevelValue{a.ID: gitlab.MaintainerPermissions, b.ID: gitlab.DeveloperPermissions} {
		m, _, err := bot.ProjectMembers.GetInheritedProjectMember(site.ID, who)
		if err != nil || m.AccessLevel != want {
			t.Fatalf("member %d: %+v, %v", who, m, err)
		}
	}
	if _, _, err := carol.Projects.GetProject("physics/atlas-site", nil); status(t, err) != http.StatusNotFound {
		t.Fatalf("carol sees the private site: %v", err)
	}
	if _, _, err := bob.PagesDomains.ListPagesDomains(site.ID, nil); status(t, err) != http.StatusForbidden {
		t.Fatalf("bob lists domains: %v", err)
	}

	_, _, err = alice.PagesDomains.CreatePagesDomain(site.ID, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("atlas.web.atrium.test")})
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusBadRequest || !strings.Contains(er.Message, "has already been taken") {
		t.Fatalf("taken: %v", err)
	}
	all, _, err := bot.PagesDomains.ListAllPagesDomains()
	mirror, _ := fake.Project("carol/atlas-mirror")
	if err != nil || len(all) != 1 || all[0].ProjectID != mirror.ID || !all[0].Verified || all[0].Certificate.Expiration == nil {
		t.Fatalf("all domains: %+v, %v", all, err)
	}
}

func TestSeedErrors(t *testing.T) {
	dir := t.TempDir()
	for name, yaml := range map[string]string{
		"unknown field": "users:\n- username: alice\n  admn: true\n",
		"bad role":      "users:\n- username: alice\ngroups:\n- path: g\n  members:\n  - {username: alice, access: boss}\n",
		"no such user":  "groups:\n- path: g\n  members:\n  - {username: nobody, access: guest}\n",
		"no namespace":  "projects:\n- path: nowhere/site\n",
		"bad level":     "users:\n- username: alice\nprojects:\n- path: alice/site\n  pages_access_level: everyone\n",
		"domain twice":  "users:\n- username: alice\nprojects:\n- path: alice/a\n- path: alice/b\ndomains:\n- {project: alice/a, domain: x.example.test}\n- {project: alice/b, domain: X.example.test}\n",
		"token twice":   "users:\n- username: alice\n  tokens: [t]\n- username: bob\n  tokens: [t]\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		fake := Start()
		if err := fake.LoadSeed(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
		fake.Close()
	}
}
