package controllers_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/operators/pages/controllers"
)

// requestsFor are the requests about one GitLab project (by id or path)
// since a time, as "METHOD route".
func requestsFor(project string, since time.Time) []string {
	p, _ := gl.Project(project)
	byID := fmt.Sprintf("/api/v4/projects/%d", p.ID)
	byPath := "/api/v4/projects/" + url.PathEscape(project)
	var out []string
	for _, r := range gl.Requests() {
		if r.Time.Before(since) {
			continue
		}
		if r.Path == byID || strings.HasPrefix(r.Path, byID+"/") || r.Path == byPath || strings.HasPrefix(r.Path, byPath+"/") {
			out = append(out, r.Method+" "+r.Route)
		}
	}
	return out
}

func changesGitLab(reqs []string) bool {
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") {
			return true
		}
	}
	return false
}

// A tenant publishes a site from a GitLab project its owner maintains:
// the domain is created in GitLab, verified through the record published
// from the site's status, the access level set, an Ingress and Service
// towards the pages front made and owned by the site; then the tenant
// makes it private, and deletes it: the domain goes from GitLab, the
// Ingress and Service from the namespace.
func TestPublishSite(t *testing.T) {
	ns := project(t, "homepage", "alice")
	host := "home.web.example.test"
	s := site(t, ns, "home", "alice/homepage", host)
	got := waitReady(t, s)

	d, ok := gl.Domain(host)
	p, _ := gl.Project("alice/homepage")
	if !ok || d.ProjectID != p.ID || !d.Verified || !d.AutoSSLEnabled {
		t.Fatalf("GitLab's domain = %+v (found %v), want verified with auto SSL in project %d", d, ok, p.ID)
	}
	if p.PagesAccessLevel != "public" {
		t.Errorf("pages_access_level = %q, want public", p.PagesAccessLevel)
	}
	v := got.Status.Verification
	if v == nil || v.Code != d.VerificationCode || !v.Verified || v.EnabledUntil == nil || v.RecordName != "_gitlab-pages-verification-code."+host {
		t.Errorf("status.verification = %+v", v)
	}
	if got.Status.URL != "https://"+host && got.Status.URL != "http://"+host {
		t.Errorf("status.url = %q", got.Status.URL)
	}
	if !got.Status.DomainCreated || got.Status.ProjectID != p.ID {
		t.Errorf("status = %+v", got.Status)
	}
	ing := &networkingv1.Ingress{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "home"}, ing); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(ing, got) || len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != host {
		t.Errorf("Ingress = %+v", ing)
	}
	svc := &corev1.Service{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: controllers.ServiceName}, svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != front || len(svc.OwnerReferences) != 1 || svc.OwnerReferences[0].UID != got.UID {
		t.Errorf("Service = %+v, owners %+v", svc.Spec, svc.OwnerReferences)
	}
	if b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service; b == nil || b.Name != controllers.ServiceName {
		t.Errorf("the Ingress routes to %+v, want Service %s", b, controllers.ServiceName)
	}
	// The certificate GitLab issues is reported once it has one.
	waitGitLab(t, "reporting the automatic certificate", func() bool {
		s := &pagesv1.GitLabPagesSite{}
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(got), s)
		c := s.Status.Certificate
		return c != nil && c.Source == pagesv1.CertificateAutomatic && c.Expiration != nil
	})

	// Drift in the Ingress is put back.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing); err != nil {
			return err
		}
		ing.Spec.Rules[0].Host = "elsewhere.web.example.test"
		return env.Client.Update(context.Background(), ing)
	})
	if err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the Ingress repaired", func() bool {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing)
		return ing.Spec.Rules[0].Host == host
	})

	updateSite(t, got, func(s *pagesv1.GitLabPagesSite) { s.Spec.Access = pagesv1.AccessPrivate })
	waitGitLab(t, "private", func() bool { p, _ := gl.Project("alice/homepage"); return p.PagesAccessLevel == "private" })
	waitReady(t, got)
	updateSite(t, got, func(s *pagesv1.GitLabPagesSite) { s.Spec.Access = pagesv1.AccessPublic })
	waitGitLab(t, "public again", func() bool { p, _ := gl.Project("alice/homepage"); return p.PagesAccessLevel == "public" })

	deleteSite(t, got)
	if _, ok := gl.Domain(host); ok {
		t.Error("the domain is still in GitLab after the site was deleted")
	}
	gone(t, ing)
	gone(t, svc)
}

// A site with its own certificate uploads it to GitLab, and a renewed
// certificate in the Secret replaces it; a Secret with a certificate for
// another name is refused before anything reaches GitLab.
func TestCertificateFromSecret(t *testing.T) {
	ns := project(t, "blog", "alice")
	host := "blog.web.example.test"
	crt, key := certificate(t, host)
	sec := tlsSecret(t, ns, "blog-tls", crt, key)
	s := site(t, ns, "blog", "alice/blog", host, withSecret("blog-tls"))
	got := waitReady(t, s)
	d, _ := gl.Domain(host)
	if d.AutoSSLEnabled || d.CertificateSource != "user_provided" || !strings.Contains(d.Certificate, strings.TrimSpace(string(crt))[30:80]) {
		t.Fatalf("GitLab's domain = %+v", d)
	}
	if c := got.Status.Certificate; c == nil || c.Source != pagesv1.CertificateSecret || c.Expiration == nil || c.SecretResourceVersion == "" {
		t.Errorf("status.certificate = %+v", c)
	}

	renewed, newKey := certificate(t, host)
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(sec), sec); err != nil {
		t.Fatal(err)
	}
	sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey] = renewed, newKey
	if err := env.Client.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	waitGitLab(t, "the renewed certificate uploaded (at the next resync)", func() bool {
		d, _ := gl.Domain(host)
		return strings.Contains(d.Certificate, strings.TrimSpace(string(renewed))[30:80])
	})

	other, otherKey := certificate(t, "other.web.example.test")
	tlsSecret(t, ns, "wrong-tls", other, otherKey)
	since := time.Now()
	bad := site(t, ns, "wrong", "alice/blog", "wrong.web.example.test", withSecret("wrong-tls"))
	waitCondition(t, bad, pagesv1.ConditionReady, "CertificateInvalid")
	if _, ok := gl.Domain("wrong.web.example.test"); ok {
		t.Error("a domain was created with a certificate for another name")
	}
	_ = since
	deleteSite(t, bad)
	deleteSite(t, got)
}

// A tenant whose Project's owner is not a Maintainer of the GitLab project
// is refused, and nothing changes in GitLab; listing a Maintainer as an
// admin of one's own Project does not borrow their rights.
func TestProjectNotControlledIsRefused(t *testing.T) {
	ns := project(t, "bobs", "bob")
	since := time.Now()
	s := site(t, ns, "atlas", "physics/atlas-site", "bobs-atlas.web.example.test")
	got := waitCondition(t, s, pagesv1.ConditionAuthorized, "NotMaintainer")
	if c := got.Status.Conditions; !strings.Contains(fmt.Sprint(c), "bob") {
		t.Errorf("conditions = %v", c)
	}
	borrowed := project(t, "mallorys", "mallory", "alice")
	b := site(t, borrowed, "atlas", "physics/atlas-site", "mallorys-atlas.web.example.test")
	waitCondition(t, b, pagesv1.ConditionAuthorized, "NotMaintainer")
	private := site(t, ns, "hidden", "physics/no-such-project", "hidden.web.example.test")
	waitCondition(t, private, pagesv1.ConditionAuthorized, "GitLabProjectNotFound")

	time.Sleep(resync + time.Second)
	if reqs := requestsFor("physics/atlas-site", since); changesGitLab(reqs) {
		t.Errorf("GitLab was changed for a tenant that does not control the project: %v", reqs)
	}
	for _, h := range []string{"bobs-atlas.web.example.test", "mallorys-atlas.web.example.test", "hidden.web.example.test"} {
		if _, ok := gl.Domain(h); ok {
			t.Errorf("domain %s was created", h)
		}
	}
	p, _ := gl.Project("physics/atlas-site")
	if p.PagesAccessLevel == "public" {
		t.Error("the project's Pages were made public")
	}
	deleteSite(t, got)
	deleteSite(t, b)
	deleteSite(t, private)
}

// A domain GitLab says is another project's is reported, never taken
// over, and never deleted when the site goes.
func TestDomainOfAnotherProjectIsReported(t *testing.T) {
	ns := project(t, "atlas", "alice")
	host := "atlas.web.example.test"
	before, _ := gl.Domain(host)
	s := site(t, ns, "atlas", "physics/atlas-site", host)
	got := waitCondition(t, s, pagesv1.ConditionReady, "DomainTaken")
	if got.Status.DomainCreated {
		t.Error("the site says it created the domain")
	}
	deleteSite(t, got)
	after, ok := gl.Domain(host)
	if !ok || after.ProjectID != before.ProjectID || after.VerificationCode != before.VerificationCode {
		t.Fatalf("carol's domain was touched: before %+v, after %+v (found %v)", before, after, ok)
	}
}

// The operator stopped between creating the domain and recording it finds
// it again: no second domain, nothing lost, and the site still deletes it.
// A domain put in place by hand in the same project is used, and kept when
// the site goes.
func TestDomainFoundAgain(t *testing.T) {
	ns := project(t, "cms", "alice")
	host := "cms.web.example.test"
	if _, err := gl.AddDomain("physics/cms-site", host); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	s := site(t, ns, "cms", "physics/cms-site", host)
	// As a crash would leave it: the status says the domain is the
	// site's, and GitLab has it.
	s.Status.DomainCreated = true
	if err := env.Client.Status().Update(context.Background(), s); err != nil {
		t.Logf("status written before the operator's: %v", err)
	}
	got := waitReady(t, s)
	for _, r := range requestsFor("physics/cms-site", since) {
		if r == "POST /projects/:id/pages/domains" {
			t.Fatalf("the domain was created again: %v", requestsFor("physics/cms-site", since))
		}
	}
	if got.Status.DomainCreated {
		deleteSite(t, got)
		if _, ok := gl.Domain(host); ok {
			t.Error("the domain the site created survived it")
		}
		return
	}
	// The operator's first pass won the race with the test's status
	// write: the domain was already in place, so it is not the site's.
	deleteSite(t, got)
	if _, ok := gl.Domain(host); !ok {
		t.Error("a domain made by hand was deleted with the site")
	}
}

// GitLab answering 429 and 5xx: the sites converge once it recovers, the
// operator waits as GitLab asks instead of hammering it, and the token is
// nowhere in the logs, events or status.
func TestGitLabFaults(t *testing.T) {
	ns := project(t, "storm", "alice")
	gl.AddFault(gitlabfake.Fault{Status: 429, RetryAfter: 3 * time.Second, Times: 1})
	start := gl.Total()
	var sites []*pagesv1.GitLabPagesSite
	for i := range 5 {
		sites = append(sites, site(t, ns, fmt.Sprintf("s%d", i), "alice/homepage", fmt.Sprintf("s%d.storm.web.example.test", i)))
	}
	time.Sleep(2 * time.Second)
	// The 429 and what the other workers had sent before it came back (one
	// each, 4) may land; nothing after it until the 3s are up.
	if n := gl.Total() - start; n > 5 {
		t.Errorf("%d requests reached GitLab while it asked to wait 3s", n)
	}
	for _, s := range sites {
		waitReady(t, s)
	}

	gl.AddFault(gitlabfake.Fault{Status: 502})
	bad := site(t, ns, "s5", "alice/homepage", "s5.storm.web.example.test")
	got := waitCondition(t, bad, pagesv1.ConditionReady, "GitLabUnavailable")
	before := gl.Total()
	time.Sleep(3 * time.Second)
	storm := gl.Total() - before
	gl.ClearFaults()
	// One failing site and five ready ones: backoff from 200ms doubling
	// to 2s is about five tries in 3s, and the resyncs of the others.
	if storm > 30 {
		t.Errorf("%d requests in 3s while GitLab failed", storm)
	}
	waitReady(t, got)

	// GitLab down while a site is deleted: the site waits, says why, and
	// goes once GitLab is back, with its domain.
	gl.AddFault(gitlabfake.Fault{Method: "DELETE", Status: 503})
	if err := env.Client.Delete(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	waiting := waitCondition(t, got, pagesv1.ConditionReady, "DeletingInGitLab")
	if _, ok := gl.Domain(waiting.Spec.Hostname); !ok {
		t.Fatal("the domain went while GitLab refused to delete it")
	}
	gl.ClearFaults()
	gone(t, got)
	if _, ok := gl.Domain(waiting.Spec.Hostname); ok {
		t.Error("the domain survived its site")
	}

	for _, s := range sites {
		deleteSite(t, s)
	}
	if strings.Contains(logs.String(), botToken) {
		t.Error("the token is in the operator's log")
	}
	evs := &corev1.EventList{}
	if err := env.Client.List(context.Background(), evs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprint(evs.Items), botToken) {
		t.Error("the token is in an event")
	}
}

// A resync with nothing changed reads GitLab in lists: one request per
// GitLab project plus the pages of the instance's domain list.
func TestResyncCostsOneRequestPerProject(t *testing.T) {
	ns := project(t, "quiet", "alice")
	var sites []*pagesv1.GitLabPagesSite
	for i := range 6 {
		sites = append(sites, site(t, ns, fmt.Sprintf("q%d", i), "alice/homepage", fmt.Sprintf("q%d.quiet.web.example.test", i)))
	}
	for _, s := range sites {
		waitReady(t, s)
	}
	time.Sleep(resync)
	gl.ResetCounts()
	time.Sleep(2 * resync)
	counts := gl.Counts()
	projects, lists, other := counts["GET /projects/:id"], counts["GET /pages/domains"], 0
	for route, n := range counts {
		if route != "GET /projects/:id" && route != "GET /pages/domains" {
			other += n
		}
	}
	// Two resync periods: each reads alice/homepage once and the
	// instance's domain list once (a page; under 100 domains).
	if projects > 3 || lists > 3 || other > 0 {
		t.Errorf("requests in two resyncs with nothing changed: %v", counts)
	}
	for _, s := range sites {
		deleteSite(t, s)
	}
}

// The operator's identity may write only its sites' routes: an Ingress
// for a hostname of its choosing outside a site, a Service in front of
// pods, or anything outside a Project's namespace is refused by the
// shipped admission policy, whatever its ClusterRole allows.
func TestOperatorIdentityWritesOnlySiteRoutes(t *testing.T) {
	ctx := context.Background()
	ns := project(t, "identity", "alice")
	s := site(t, ns, "mine", "alice/homepage", "mine.identity.web.example.test")
	got := waitReady(t, s)
	op, err := env.ClientAs("system:serviceaccount:atrium-system:atrium-pages")
	if err != nil {
		t.Fatal(err)
	}
	owned := func(obj client.Object) client.Object {
		obj.SetLabels(map[string]string{controllers.SiteLabel: "mine"})
		obj.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(got, pagesv1.GroupVersion.WithKind("GitLabPagesSite"))})
		return obj
	}
	// The namespace already has its shared Service: the operator's
	// identity may not make one in another namespace that is not a
	// site's.
	other := project(t, "identity-other", "alice")
	siteRef := metav1.OwnerReference{APIVersion: pagesv1.GroupVersion.String(), Kind: "GitLabPagesSite", Name: "mine", UID: got.UID}
	shared := func(owners []metav1.OwnerReference, spec corev1.ServiceSpec) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: controllers.ServiceName, OwnerReferences: owners}, Spec: spec}
	}
	prefix := networkingv1.PathTypePrefix
	ing := func(ns, name string) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "x.identity.web.example.test", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "x", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
	}
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metaName("not-a-project")}); err != nil {
		t.Fatal(err)
	}
	for what, obj := range map[string]client.Object{
		"an Ingress no site owns":           ing(ns, "stray"),
		"a site's Ingress outside Projects": owned(ing("not-a-project", "mine")),
		"a Service in front of pods": owned(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pods"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}}}),
		"the shared Service owned by no site": shared(nil, corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "evil.example.test"}),
		"the shared Service owned by something else too": shared([]metav1.OwnerReference{siteRef, {APIVersion: "v1", Kind: "ConfigMap", Name: "c", UID: "c"}},
			corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "evil.example.test"}),
		"the shared Service in front of pods": shared([]metav1.OwnerReference{siteRef},
			corev1.ServiceSpec{Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}}),
	} {
		err := op.Create(ctx, obj)
		if err == nil || !strings.Contains(err.Error(), "pages operator") {
			t.Errorf("%s: created, or refused for another reason: %v", what, err)
		}
	}
	deleteSite(t, got)
}

// Bad input is refused by the schema with a message naming the field,
// before anything reaches the operator: a wildcard, a hostname in capitals
// or with a trailing dot, a project that is no path or id, a Secret
// certificate without a Secret, and a changed hostname.
func TestBadInputIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := project(t, "badinput", "alice")
	for _, tc := range []struct {
		field string
		spec  pagesv1.GitLabPagesSiteSpec
	}{
		{"spec.hostname", pagesv1.GitLabPagesSiteSpec{Project: "alice/homepage", Hostname: "*.bad.web.example.test"}},
		{"spec.hostname", pagesv1.GitLabPagesSiteSpec{Project: "alice/homepage", Hostname: "Bad.web.example.test"}},
		{"spec.hostname", pagesv1.GitLabPagesSiteSpec{Project: "alice/homepage", Hostname: "bad.web.example.test."}},
		{"spec.project", pagesv1.GitLabPagesSiteSpec{Project: "not a project", Hostname: "bad.web.example.test"}},
		{"secretName", pagesv1.GitLabPagesSiteSpec{Project: "alice/homepage", Hostname: "bad.web.example.test",
			TLS: pagesv1.SiteTLS{Source: pagesv1.CertificateSecret}}},
	} {
		bad := &pagesv1.GitLabPagesSite{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad"}, Spec: tc.spec}
		err := env.Client.Create(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: created, or refused without naming %s: %v", tc.spec, tc.field, err)
		}
	}
	s := site(t, ns, "good", "alice/homepage", "good.badinput.web.example.test")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		s.Spec.Hostname = "other.badinput.web.example.test"
		return env.Client.Update(ctx, s)
	})
	if err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("the hostname was changed: %v", err)
	}
	deleteSite(t, s)
}
