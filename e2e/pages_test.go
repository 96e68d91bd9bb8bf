package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// seedGitLab gives the fleet's GitLab its Pages bot (an admin) and the
// people of the stories: paula owns paula/homepage and paula/blog,
// mallory owns nothing of hers.
func seedGitLab(gl *gitlabfake.Server) (string, error) {
	_, token := gl.AddUser("atrium-pages-bot", true)
	for _, u := range []string{"paula", "mallory"} {
		gl.AddUser(u, false)
	}
	for _, p := range []string{"homepage", "blog"} {
		if _, err := gl.AddProject("paula", p, gitlabfake.Public); err != nil {
			return "", err
		}
	}
	return token, nil
}

// PagesSiteInput describes a tenant publishing a GitLab Pages site.
type PagesSiteInput struct {
	User, Project, GitLabProject, Hostname string
	// Rival tries the same hostname in another cluster of the fleet.
	Rival   string
	Timeout time.Duration
}

// pagesSite is a site as its user writes it.
func pagesSite(ns, name, project, host string) *pagesv1.GitLabPagesSite {
	return &pagesv1.GitLabPagesSite{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       pagesv1.GitLabPagesSiteSpec{Project: project, Hostname: host},
	}
}

// waitSite waits until the site's condition typ has reason.
func waitSite(ctx context.Context, t *testing.T, c client.Client, s *pagesv1.GitLabPagesSite, typ, reason string, timeout time.Duration) *pagesv1.GitLabPagesSite {
	t.Helper()
	got := &pagesv1.GitLabPagesSite{}
	err := testenv.Eventually(ctx, timeout, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), got); err != nil {
			return err
		}
		if cond := meta.FindStatusCondition(got.Status.Conditions, typ); cond == nil || cond.Reason != reason {
			return fmt.Errorf("%s = %+v", typ, cond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TenantPublishesPagesSite: a casual user publishes their GitLab project's
// Pages on a hostname of their Project's. The domain is made in GitLab,
// its verification record published in BIND by the DNS operator and found
// there by GitLab, the hostname resolves to the cluster's front, the
// hostname is refused in another cluster of the fleet, the site goes
// private and back; deleted by its user, the domain leaves GitLab and the
// records leave DNS.
func TenantPublishesPagesSite(ctx context.Context, t *testing.T, in PagesSiteInput) {
	t.Helper()
	user, err := f.env.ClientAs(in.User)
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	s := pagesSite(in.Project, "site", in.GitLabProject, in.Hostname)
	// The namespace's RoleBindings come with the Project; retry until then.
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return user.Create(ctx, s.DeepCopy()) }); err != nil {
		t.Fatalf("%s creating a GitLabPagesSite: %v", in.User, err)
	}
	got := waitSite(ctx, t, user, s, pagesv1.ConditionReady, "Published", in.Timeout)

	d, ok := f.gitlab.Domain(in.Hostname)
	p, _ := f.gitlab.Project(in.GitLabProject)
	if !ok || !d.Verified || d.ProjectID != p.ID {
		t.Fatalf("GitLab's domain %+v (found %v), want verified in %s", d, ok, in.GitLabProject)
	}
	record := "_gitlab-pages-verification-code." + in.Hostname
	if err := records(record, mdns.TypeTXT, "gitlab-pages-verification-code="+d.VerificationCode); err != nil {
		t.Error(err)
	}
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return records(in.Hostname, mdns.TypeA, "192.0.2.80") }); err != nil {
		t.Error(err)
	}
	if got.Status.URL == "" || got.Status.Verification == nil || !got.Status.Verification.Verified {
		t.Errorf("status %+v", got.Status)
	}

	// Another tenant in another cluster of the fleet cannot have the name.
	rival, err := f.pdnsMember.Env.ClientAs(in.Rival)
	if err != nil {
		t.Fatal(err)
	}
	if err := rival.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Rival + "-pages"}}); err != nil {
		t.Fatal(err)
	}
	var copyErr error
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		copyErr = rival.Create(ctx, pagesSite(in.Rival+"-pages", "copy", in.GitLabProject, in.Hostname))
		if copyErr != nil && strings.Contains(copyErr.Error(), "cannot create resource") {
			return copyErr // the Project's RBAC is still on its way
		}
		return nil
	})
	if err != nil || copyErr == nil || !strings.Contains(copyErr.Error(), memberName) {
		t.Errorf("the hostname was not refused in another cluster: %v", copyErr)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		p := &tenancyv1.Project{}
		if err := f.pdnsMember.Env.Client.Get(ctx, client.ObjectKey{Name: in.Rival + "-pages"}, p); err != nil {
			return err
		}
		return readyErr(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	deleteProjectAs(ctx, t, f.pdnsMember.Env, in.Rival, in.Rival+"-pages")

	got.Spec.Access = pagesv1.AccessPrivate
	if err := user.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if p, _ := f.gitlab.Project(in.GitLabProject); p.PagesAccessLevel != "private" {
			return fmt.Errorf("pages_access_level %q", p.PagesAccessLevel)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	if err := user.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if err := user.Get(ctx, client.ObjectKeyFromObject(got), got); !apierrors.IsNotFound(err) {
			return fmt.Errorf("site still there: %v", err)
		}
		if _, ok := f.gitlab.Domain(in.Hostname); ok {
			return fmt.Errorf("the domain is still in GitLab")
		}
		if err := records(record, mdns.TypeTXT); err != nil {
			return err
		}
		return records(in.Hostname, mdns.TypeA)
	})
	if err != nil {
		t.Fatal(err)
	}
	deleteProjectAs(ctx, t, f.env, in.User, in.Project)
}

func TestTenantPublishesPagesSite(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	TenantPublishesPagesSite(context.Background(), t, PagesSiteInput{
		User: "paula", Project: "paula-pages", GitLabProject: "paula/homepage",
		Hostname: "home.paula-pages." + dnsZone, Rival: "rita", Timeout: 2 * time.Minute,
	})
}

// TestPagesOfAnotherUserAreRefused: a tenant names a GitLab project they
// are no Maintainer of; the site says so and GitLab is not changed.
func TestPagesOfAnotherUserAreRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	user, err := f.env.ClientAs("mallory")
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "mallory-pages"}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, "mallory-pages", time.Minute)
	s := pagesSite("mallory-pages", "stolen", "paula/blog", "blog.mallory-pages."+dnsZone)
	if err := testenv.Eventually(ctx, time.Minute, func() error { return user.Create(ctx, s.DeepCopy()) }); err != nil {
		t.Fatal(err)
	}
	got := waitSite(ctx, t, user, s, pagesv1.ConditionAuthorized, "NotMaintainer", time.Minute)
	// The status is the operator's: a tenant cannot write a verification
	// code of their choosing for the DNS operator to publish.
	got.Status.Verification = &pagesv1.Verification{Code: "0123456789abcdef0123456789abcdef"}
	if err := user.Status().Update(ctx, got); !apierrors.IsForbidden(err) {
		t.Errorf("a tenant wrote a site's status: %v", err)
	}
	if _, ok := f.gitlab.Domain(s.Spec.Hostname); ok {
		t.Error("a domain was made in a GitLab project the tenant does not control")
	}
	if p, _ := f.gitlab.Project("paula/blog"); p.PagesAccessLevel == "public" {
		t.Errorf("paula's Pages access level was changed to %q", p.PagesAccessLevel)
	}
	if err := user.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	deleteProjectAs(ctx, t, f.env, "mallory", "mallory-pages")
}

// TestPagesOperatorKilledMidCreate: both replicas of the pages operator
// die while GitLab is slow to answer the domain's creation; the replicas
// that replace them find the domain (or make it, if it never was), make
// no second one, publish the site, and deleting it leaves nothing in
// GitLab. The GitLab token is never in the operator's log.
func TestPagesOperatorKilledMidCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	user, err := f.env.ClientAs("paula")
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "paula-blog"}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, "paula-blog", time.Minute)
	host := "blog.paula-blog." + dnsZone
	f.gitlab.SetLatency(3 * time.Second)
	s := pagesSite("paula-blog", "blog", "paula/blog", host)
	if err := testenv.Eventually(ctx, time.Minute, func() error { return user.Create(ctx, s.DeepCopy()) }); err != nil {
		t.Fatal(err)
	}
	// The site records that the domain is its own before creating it.
	err = testenv.Eventually(ctx, time.Minute, func() error {
		got := &pagesv1.GitLabPagesSite{}
		if err := user.Get(ctx, client.ObjectKeyFromObject(s), got); err != nil {
			return err
		}
		if !got.Status.DomainCreated {
			return fmt.Errorf("not creating the domain yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	operator := f.member.Deployment(components.Pages)
	pods := operator.Pods()
	for _, p := range pods {
		operator.Kill(p)
	}
	f.gitlab.SetLatency(0)
	for _, p := range pods {
		if _, err := operator.Replace(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got := waitSite(ctx, t, user, s, pagesv1.ConditionReady, "Published", 2*time.Minute)
	if !got.Status.DomainCreated {
		t.Error("the site forgot that it made the domain")
	}
	if d, ok := f.gitlab.Domain(host); !ok || !d.Verified {
		t.Errorf("GitLab's domain %+v (found %v)", d, ok)
	}
	if err := user.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, time.Minute, func() error {
		if _, ok := f.gitlab.Domain(host); ok {
			return fmt.Errorf("the domain is still in GitLab")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var log []byte
	for _, path := range f.member.Logs(components.Pages) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, b...)
	}
	if len(log) == 0 {
		t.Fatal("the operator logged nothing: the check would prove nothing")
	}
	if strings.Contains(string(log), f.gitlabToken) {
		t.Fatal("the GitLab token is in the pages operator's log")
	}
	deleteProjectAs(ctx, t, f.env, "paula", "paula-blog")
}
