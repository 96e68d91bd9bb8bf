package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// stateOn is a State over a GitLab of its own (not the suite's), its
// client paced at qps with burst, and the project alice/homepage holding
// n domains d0…d(n-1).example.test.
func stateOn(t *testing.T, qps float64, burst, n int, fresh time.Duration) (*gitlabfake.Server, *controllers.State, int64) {
	t.Helper()
	fake := gitlabfake.Start()
	t.Cleanup(fake.Close)
	_, token := fake.AddUser("bot", true)
	fake.AddUser("alice", false)
	p, err := fake.AddProject("alice", "homepage", gitlabfake.Public)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddProject("alice", "blog", gitlabfake.Public); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := fake.AddDomain("alice/homepage", fmt.Sprintf("d%d.example.test", i)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := gitlab.New(gitlab.Config{URL: fake.URL, Token: token, Timeout: 2 * time.Second, QPS: qps, Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	fake.ResetCounts()
	return fake, &controllers.State{GitLab: c, Fresh: fresh, AccessFresh: time.Hour}, p.ID
}

// askUntilAnswered asks for a domain as a site does, coming back when the
// client's gate says its turn is due.
func askUntilAnswered(t *testing.T, s *controllers.State, project int64, name string) (gitlab.Domain, bool) {
	t.Helper()
	ctx := gitlab.For(context.Background(), "site-a")
	for range 500 {
		d, found, err := s.Domain(ctx, project, name, false)
		if err == nil {
			return d, found
		}
		wait, ok := gitlab.Transient(err)
		if !gitlab.Gated(err) || !ok {
			t.Fatalf("asking for %s: %v", name, err)
		}
		time.Sleep(wait)
	}
	t.Fatalf("no answer for %s after 500 visits: the instance's list never ends", name)
	return gitlab.Domain{}, false
}

// An instance whose domain list has more pages than the pacing's burst
// (11 pages, a burst of 2) is still read to its end: each site that comes
// back at the list's turn goes on from the page where the last one was
// kept back, and no page is read twice. Read again from page 1 each time,
// the list would never end and no site would ever be published.
func TestALongDomainListIsReadToItsEnd(t *testing.T) {
	fake, s, project := stateOn(t, 100, 2, 1050, time.Hour)
	d, found := askUntilAnswered(t, s, project, "d1049.example.test")
	if !found || d.ProjectID != project {
		t.Fatalf("the last domain of the list: %+v, found %v", d, found)
	}
	if n := fake.Count("GET /pages/domains"); n != 11 {
		t.Errorf("%d requests for the list's 11 pages: pages were read again", n)
	}
	if _, found := askUntilAnswered(t, s, project, "d0.example.test"); !found {
		t.Error("the first page was lost on the way")
	}
}

// A list that takes longer to read than --gitlab-fresh at GitLab's pace
// is still read to its end: it starts again only when left alone that
// long, not because its first page has grown old.
func TestAListSlowerThanFreshEnds(t *testing.T) {
	// 50 ms a page: the list takes some 450 ms, Fresh is 200 ms.
	fake, s, project := stateOn(t, 20, 2, 1050, 200*time.Millisecond)
	if _, found := askUntilAnswered(t, s, project, "d1049.example.test"); !found {
		t.Fatal("the last domain not found")
	}
	if n := fake.Count("GET /pages/domains"); n != 11 {
		t.Errorf("%d requests for the list's 11 pages", n)
	}
}

// While one site reads the list on at GitLab's pace, the others wait for
// the whole list (ErrListing, and they are woken when it is read) rather
// than coming back for each page; a site that stays away past its turn is
// replaced by the next that asks.
func TestOtherSitesWaitForTheWholeList(t *testing.T) {
	fake, s, project := stateOn(t, 5, 2, 1050, time.Hour)
	b := gitlab.For(context.Background(), "site-b")
	a := gitlab.For(context.Background(), "site-a")
	_, _, err := s.Domain(a, project, "d5.example.test", false)
	if !gitlab.Gated(err) {
		t.Fatalf("site-a beyond the burst: %v, want its page kept back", err)
	}
	turn, _ := gitlab.Transient(err)
	if _, _, err := s.Domain(b, project, "d5.example.test", false); !errors.Is(err, controllers.ErrListing) {
		t.Fatalf("site-b while site-a reads the list: %v, want ErrListing", err)
	}
	if s.Listed() {
		t.Fatal("Listed before the list is whole")
	}
	// site-a goes away; after its turn and the take-over time, site-b
	// reads on from where site-a stopped.
	time.Sleep(turn + 5*time.Second + 100*time.Millisecond)
	byA := fake.Count("GET /pages/domains")
	var found bool
	for range 500 {
		_, ok, err := s.Domain(b, project, "d5.example.test", false)
		if err == nil {
			found = ok
			break
		}
		wait, _ := gitlab.Transient(err)
		if !gitlab.Gated(err) {
			t.Fatalf("site-b reading on: %v", err)
		}
		time.Sleep(wait)
	}
	if !found || !s.Listed() {
		t.Fatalf("site-b: found %v, listed %v", found, s.Listed())
	}
	if n := fake.Count("GET /pages/domains"); n != 11 || byA >= 11 {
		t.Errorf("site-a read %d pages, the two %d, want 11 with some left to site-b", byA, n)
	}
}

// Once a list has been read, a new one the pacing keeps back does not
// hold the sites up: they answer from the list before.
func TestTheListBeforeServesWhileTheNextIsKeptBack(t *testing.T) {
	fake, s, project := stateOn(t, 0.5, 12, 1050, 50*time.Millisecond)
	if _, found := askUntilAnswered(t, s, project, "d7.example.test"); !found {
		t.Fatal("d7 not found")
	}
	time.Sleep(60 * time.Millisecond)
	for i := range 3 {
		ctx := gitlab.For(context.Background(), fmt.Sprintf("late-%d", i))
		d, found, err := s.Domain(ctx, project, "d1000.example.test", false)
		if err != nil || !found || d.ProjectID != project {
			t.Fatalf("visit %d while the next list is kept back: %+v, %v, %v", i, d, found, err)
		}
	}
	if n := fake.Count("GET /pages/domains"); n < 12 || n >= 22 {
		t.Errorf("%d list requests, want the 11 pages and the first of the next", n)
	}
}

// A site whose spec changed reads its domain afresh from its project: one
// request, not the instance's list again, which sees a domain made or
// removed since the list was read; another project's domain is still seen
// as taken.
func TestAChangedSiteReadsItsDomainAlone(t *testing.T) {
	fake, s, project := stateOn(t, 1000, 1000, 250, time.Hour)
	ctx := context.Background()
	if _, found := askUntilAnswered(t, s, project, "d1.example.test"); !found {
		t.Fatal("d1 not found")
	}
	if _, err := fake.AddDomain("alice/homepage", "new.example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddDomain("alice/blog", "blog.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := fake.RemoveDomain("d2.example.test"); err != nil {
		t.Fatal(err)
	}
	fake.ResetCounts()
	if _, found, _ := s.Domain(ctx, project, "new.example.test", false); found {
		t.Fatal("a list read an hour ago cannot know the new domain; the test needs it not to")
	}
	if d, found, err := s.Domain(ctx, project, "new.example.test", true); err != nil || !found || d.ProjectID != project {
		t.Errorf("the new domain, read afresh: %+v, %v, %v", d, found, err)
	}
	if _, found, err := s.Domain(ctx, project, "d2.example.test", true); err != nil || found {
		t.Errorf("the removed domain, read afresh: found %v, %v", found, err)
	}
	if n := fake.Count("GET /pages/domains"); n != 0 {
		t.Errorf("%d reads of the instance's list for two changed sites", n)
	}
	if n := fake.Total(); n != 2 {
		t.Errorf("%d requests for two changed sites, want 2", n)
	}
	// The list read before the blog's domain was made does not know it;
	// a create is GitLab's own check and says it is another project's.
	if _, created, err := s.CreateDomain(ctx, project, "blog.example.test", gitlab.TLS{Auto: true}); gitlab.ReasonOf(err) != gitlab.Taken || created {
		t.Errorf("creating another project's domain: created %v, %v; want Taken", created, err)
	}
}

// A create GitLab refuses as taken by the project itself (a domain the
// list missed: made by hand since, or by a create whose answer was lost)
// gives the project's domain, not a false report that another project
// holds it.
func TestACreateRefusedForTheProjectsOwnDomainFindsIt(t *testing.T) {
	fake, s, project := stateOn(t, 1000, 1000, 3, time.Hour)
	ctx := context.Background()
	if _, found := askUntilAnswered(t, s, project, "d0.example.test"); !found {
		t.Fatal("d0 not found")
	}
	if _, err := fake.AddDomain("alice/homepage", "missed.example.test"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Domain(ctx, project, "missed.example.test", false); found {
		t.Fatal("the list should not know the domain made after it was read")
	}
	d, created, err := s.CreateDomain(ctx, project, "missed.example.test", gitlab.TLS{Auto: true})
	if err != nil || created || d.ProjectID != project || d.Name != "missed.example.test" {
		t.Fatalf("create of the project's own domain: %+v, created %v, %v", d, created, err)
	}
	if _, found, _ := s.Domain(ctx, project, "missed.example.test", false); !found {
		t.Error("the domain found is not remembered")
	}
}
