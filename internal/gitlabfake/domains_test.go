package gitlabfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

func TestDomainLifecycle(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	const p = "physics/atlas-site"

	d, resp, err := c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("WWW.Atlas.Example.Test")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v", err)
	}
	if d.Domain != "www.atlas.example.test" || d.URL != "http://www.atlas.example.test" || d.Verified || d.EnabledUntil != nil ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(d.VerificationCode) || d.Certificate.Certificate != "" {
		t.Fatalf("created: %+v", d)
	}
	got, _, err := c.PagesDomains.GetPagesDomain(p, "www.atlas.example.test")
	if err != nil || got.VerificationCode != d.VerificationCode {
		t.Fatalf("get: %+v, %v", got, err)
	}
	w.domain(c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("atlas.example.test")}))
	list, _, err := c.PagesDomains.ListPagesDomains(p, nil)
	if err != nil || len(list) != 2 || list[0].Domain != "atlas.example.test" || list[1].Domain != "www.atlas.example.test" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	up, _, err := c.PagesDomains.UpdatePagesDomain(p, "www.atlas.example.test", &gitlab.UpdatePagesDomainOptions{AutoSslEnabled: gitlab.Ptr(true)})
	if err != nil || !up.AutoSslEnabled || up.VerificationCode != d.VerificationCode {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if _, err := c.PagesDomains.DeletePagesDomain(p, "www.atlas.example.test"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, _, err := c.PagesDomains.GetPagesDomain(p, "www.atlas.example.test"); status(t, err) != http.StatusNotFound {
		t.Fatalf("deleted domain: %v", err)
	}
	// A developer may not write (nor, in the fake, read) domains; someone
	// outside a private project does not even see it.
	if _, _, err := w.client(t, w.bobTok).PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("b.example.test")}); status(t, err) != http.StatusForbidden {
		t.Fatalf("developer creates: %v", err)
	}
	if _, _, err := w.client(t, w.carolTok).PagesDomains.ListPagesDomains(p, nil); status(t, err) != http.StatusNotFound {
		t.Fatalf("outsider lists: %v", err)
	}
	// The domain of another project is not found through this one.
	mustDo(t, errOf(w.fake.AddDomain("alice/homepage", "alice.example.test")))
	if _, _, err := c.PagesDomains.GetPagesDomain(p, "alice.example.test"); status(t, err) != http.StatusNotFound {
		t.Fatalf("another project's domain: %v", err)
	}
}

func TestTakenDomain(t *testing.T) {
	w := newWorld(t)
	mustDo(t, errOf(w.fake.AddDomain("alice/homepage", "taken.example.test")))
	_, _, err := w.client(t, w.aliceTok).PagesDomains.CreatePagesDomain("physics/atlas-site", &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("Taken.example.test")})
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusBadRequest {
		t.Fatalf("taken: %v", err)
	}
	if er.Message != "{message: {domain: [has already been taken]}}" || string(er.Body) != `{"message":{"domain":["has already been taken"]}}`+"\n" {
		t.Fatalf("taken: %q %s", er.Message, er.Body)
	}
	_, _, err = w.client(t, w.aliceTok).PagesDomains.CreatePagesDomain("physics/atlas-site", &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("site.pages.atrium.test")})
	if status(t, err) != http.StatusBadRequest {
		t.Fatalf("a domain under the Pages host: %v", err)
	}
	_, _, err = w.client(t, w.aliceTok).PagesDomains.CreatePagesDomain("physics/atlas-site", &gitlab.CreatePagesDomainOptions{})
	if !errors.As(err, &er) || er.Message != "{error: domain is missing}" {
		t.Fatalf("no domain: %v", err)
	}
}

// verify calls the endpoint the client has no method for.
func verify(t *testing.T, c *gitlab.Client, project, domain string) (*gitlab.PagesDomain, error) {
	t.Helper()
	req, err := c.NewRequest(http.MethodPut, fmt.Sprintf("projects/%s/pages/domains/%s/verify", gitlab.PathEscape(project), gitlab.PathEscape(domain)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := new(gitlab.PagesDomain)
	_, err = c.Do(req, d)
	return d, err
}

func TestVerification(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	const p, name = "physics/atlas-site", "atlas.example.test"
	d := w.domain(c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr(name)}))

	// No record, or a wrong one: not verified.
	got, err := verify(t, c, p, name)
	if err != nil || got.Verified || got.EnabledUntil != nil {
		t.Fatalf("without a record: %+v, %v", got, err)
	}
	w.dns.set("_gitlab-pages-verification-code."+name, "gitlab-pages-verification-code=00000000000000000000000000000000")
	if got, _ := verify(t, c, p, name); got.Verified {
		t.Fatal("verified with the wrong code")
	}
	if _, err := verify(t, w.client(t, w.bobTok), p, name); status(t, err) != http.StatusForbidden {
		t.Fatalf("developer verifies: %v", err)
	}

	w.dns.set("_gitlab-pages-verification-code."+name, "v=spf1 -all", "gitlab-pages-verification-code="+d.VerificationCode)
	got, err = verify(t, c, p, name)
	if err != nil || !got.Verified || got.EnabledUntil == nil || !got.EnabledUntil.Equal(w.clock.now().Add(7*24*time.Hour)) {
		t.Fatalf("with the record: %+v, %v", got, err)
	}
	until := *got.EnabledUntil

	// The record goes: unverified, but enabled until as before.
	w.dns.set("_gitlab-pages-verification-code." + name)
	w.clock.advance(time.Hour)
	got, err = verify(t, c, p, name)
	if err != nil || got.Verified || got.EnabledUntil == nil || !got.EnabledUntil.Equal(until) {
		t.Fatalf("after the record went: %+v, %v", got, err)
	}
}

func TestAutoSSLAfterVerification(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	const p, name = "physics/atlas-site", "atlas.example.test"
	d := w.domain(c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr(name), AutoSslEnabled: gitlab.Ptr(true)}))
	if !d.AutoSslEnabled || d.Certificate.Certificate != "" {
		t.Fatalf("created: %+v", d)
	}
	if got := w.domain(c.PagesDomains.GetPagesDomain(p, name)); got.Certificate.Certificate != "" {
		t.Fatal("a certificate before verification")
	}
	w.dns.set("_gitlab-pages-verification-code."+name, "gitlab-pages-verification-code="+d.VerificationCode)
	if v, err := verify(t, c, p, name); err != nil || !v.Verified {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	got := w.domain(c.PagesDomains.GetPagesDomain(p, name))
	cert := got.Certificate
	if got.URL != "https://"+name || cert.Subject != "/CN="+name || cert.Expired || cert.Expiration == nil ||
		!cert.Expiration.Equal(w.clock.now().Add(90*24*time.Hour)) || cert.CertificateText == "" {
		t.Fatalf("issued: %+v %+v", got, cert)
	}
	x := parseCert(t, cert.Certificate)
	if x.Subject.CommonName != name || len(x.DNSNames) != 1 || x.DNSNames[0] != name {
		t.Fatalf("issued certificate: %v %v", x.Subject, x.DNSNames)
	}
	if st, _ := w.fake.Domain(name); st.CertificateSource != "gitlab_provided" {
		t.Fatalf("state: %+v", st)
	}
	// Read again: the same certificate, not a new one each time.
	if again := w.domain(c.PagesDomains.GetPagesDomain(p, name)); again.Certificate.Certificate != cert.Certificate {
		t.Fatal("reissued on a second read")
	}
	// The admin list shows the expiry only.
	all := w.domains(w.client(t, w.botTok).PagesDomains.ListAllPagesDomains())
	if len(all) != 1 || all[0].ProjectID == 0 || all[0].Certificate.Expiration == nil || all[0].Certificate.Certificate != "" {
		t.Fatalf("admin list: %+v", all)
	}
	// Auto SSL off drops the certificate GitLab issued.
	off := w.domain(c.PagesDomains.UpdatePagesDomain(p, name, &gitlab.UpdatePagesDomainOptions{AutoSslEnabled: gitlab.Ptr(false)}))
	if off.Certificate.Certificate != "" || off.URL != "http://"+name {
		t.Fatalf("auto SSL off: %+v", off)
	}
}

func TestUserCertificate(t *testing.T) {
	w := newWorld(t)
	c := w.client(t, w.aliceTok)
	const p, name = "physics/atlas-site", "atlas.example.test"
	// An hour's certificate from two hours ago: expired, which GitLab
	// accepts and shows.
	certPEM, keyPEM := selfSigned(t, name, w.clock.now().Add(-2*time.Hour))
	_, otherKey := selfSigned(t, name, w.clock.now())

	_, _, err := c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr(name), Certificate: &certPEM, Key: &otherKey})
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusBadRequest || er.Message != "{message: {key: [doesn't match the certificate]}}" {
		t.Fatalf("wrong key: %v", err)
	}
	if _, ok := w.fake.Domain(name); ok {
		t.Fatal("a refused domain was kept")
	}
	junk := "not a certificate"
	_, _, err = c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr(name), Certificate: &junk, Key: &keyPEM})
	if !errors.As(err, &er) || er.Message != "{message: {certificate: [must be a valid PEM certificate]}}" {
		t.Fatalf("junk certificate: %v", err)
	}

	d := w.domain(c.PagesDomains.CreatePagesDomain(p, &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr(name), Certificate: &certPEM, Key: &keyPEM}))
	if d.URL != "https://"+name || d.Certificate.Subject != "/O=Atrium tests/CN="+name || !d.Certificate.Expired || d.Certificate.Certificate != certPEM {
		t.Fatalf("with a certificate: %+v", d.Certificate)
	}
	// A new certificate alone is checked against the key kept.
	newCert, _ := selfSigned(t, name, w.clock.now())
	if _, _, err := c.PagesDomains.UpdatePagesDomain(p, name, &gitlab.UpdatePagesDomainOptions{Certificate: &newCert}); status(t, err) != http.StatusBadRequest {
		t.Fatalf("certificate for another key: %v", err)
	}
	// Empty certificate and key remove it.
	empty := ""
	d = w.domain(c.PagesDomains.UpdatePagesDomain(p, name, &gitlab.UpdatePagesDomainOptions{Certificate: &empty, Key: &empty}))
	if d.Certificate.Certificate != "" || d.URL != "http://"+name {
		t.Fatalf("removed: %+v", d)
	}
}

func TestAdminDomainListPaginated(t *testing.T) {
	w := newWorld(t)
	for i := range 250 {
		project := []string{"alice/homepage", "physics/atlas-site"}[i%2]
		mustDo(t, errOf(w.fake.AddDomain(project, fmt.Sprintf("d%03d.example.test", i))))
	}
	if _, _, err := w.client(t, w.aliceTok).PagesDomains.ListAllPagesDomains(); status(t, err) != http.StatusForbidden {
		t.Fatalf("non-admin lists all: %v", err)
	}
	c := w.client(t, w.botTok)
	w.fake.ResetCounts()

	first, resp, err := c.PagesDomains.ListAllPagesDomains(perPage(100))
	if err != nil || len(first) != 100 || resp.TotalItems != 250 || resp.TotalPages != 3 || resp.NextPage != 2 || resp.CurrentPage != 1 || resp.ItemsPerPage != 100 || resp.NextLink == "" {
		t.Fatalf("first page: %d items, %+v, %v", len(first), resp, err)
	}

	w.fake.ResetCounts()
	seen := map[string]bool{}
	it, errf := gitlab.Scan(func(p gitlab.PaginationOptionFunc) ([]*gitlab.PagesDomain, *gitlab.Response, error) {
		return c.PagesDomains.ListAllPagesDomains(perPage(100), p)
	})
	for d := range it {
		if d.ProjectID == 0 || seen[d.Domain] {
			t.Fatalf("domain %+v (seen %v)", d, seen[d.Domain])
		}
		seen[d.Domain] = true
	}
	if err := errf(); err != nil || len(seen) != 250 {
		t.Fatalf("scan: %d domains, %v", len(seen), err)
	}
	if n := w.fake.Count("GET /pages/domains"); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}

	// Walking by X-Next-Page, 20 a page by default.
	n := 0
	for page := int64(1); page != 0; n++ {
		ds, resp, err := c.PagesDomains.ListPagesDomains("alice/homepage", &gitlab.ListPagesDomainsOptions{ListOptions: gitlab.ListOptions{Page: page}})
		if err != nil || len(ds) > 20 {
			t.Fatalf("page %d: %d, %v", page, len(ds), err)
		}
		page = resp.NextPage
	}
	if n != 7 {
		t.Fatalf("125 domains in %d pages of 20", n)
	}
}

// perPage sets per_page on a request; ListAllPagesDomains has no options.
func perPage(n int) gitlab.RequestOptionFunc {
	return func(r *retryablehttp.Request) error {
		q := r.URL.Query()
		q.Set("per_page", fmt.Sprint(n))
		r.URL.RawQuery = q.Encode()
		return nil
	}
}

// domain and domains take a client call's results and fail the test on an
// error (methods, so that the call's results can be their arguments).
func (w *world) domain(d *gitlab.PagesDomain, _ *gitlab.Response, err error) *gitlab.PagesDomain {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

func (w *world) domains(ds []*gitlab.PagesDomain, _ *gitlab.Response, err error) []*gitlab.PagesDomain {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	return ds
}

func selfSigned(t *testing.T, name string, notBefore time.Time) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"Atrium tests"}, CommonName: name},
		DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notBefore.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func parseCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
