package gitlabfake

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// verificationPeriod is how long a successful verification keeps a domain
// enabled (GitLab's VERIFICATION_PERIOD); GitLab re-verifies before then.
const verificationPeriod = 7 * 24 * time.Hour

// verificationPrefix is the label GitLab looks for the TXT record under.
const verificationPrefix = "_gitlab-pages-verification-code."

// The Pages domain endpoints. GitLab guards them with the read_pages and
// update_pages abilities; the fake takes both to need Maintainer, as the
// Pages settings page in GitLab's UI does.

// listAllDomains is the instance's domains, for administrators only;
// domain= narrows it to one name.
func (c *call) listAllDomains() {
	defer c.lock()()
	if !c.user.admin {
		c.forbidden()
		return
	}
	want, _, _ := c.str("domain")
	ds := slices.SortedFunc(maps.Values(c.s.st.domains), func(a, b *domain) int { return int(a.id - b.id) })
	var out []map[string]any
	for _, d := range ds {
		if want == "" || strings.EqualFold(d.name, want) {
			c.s.autoSSL(d)
			out = append(out, c.s.domainBasicView(d))
		}
	}
	writeList(c, out)
}

// maintained finds the :id project and checks the user maintains it.
func (c *call) maintained() *project {
	p := c.project()
	if p == nil {
		return nil
	}
	if !p.canMaintain(c.user) {
		c.forbidden()
		return nil
	}
	return p
}

// domain finds the :domain of a project.
func (c *call) domain(p *project) *domain {
	d := c.s.st.domains[strings.ToLower(c.path["domain"])]
	if d == nil || d.project != p {
		c.notFound("Pages Domain")
		return nil
	}
	return d
}

func (c *call) listDomains() {
	defer c.lock()()
	p := c.maintained()
	if p == nil {
		return
	}
	var out []map[string]any
	for _, d := range c.s.st.domains {
		if d.project == p {
			c.s.autoSSL(d)
			out = append(out, c.s.domainView(d))
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["domain"].(string), b["domain"].(string)) })
	writeList(c, out)
}

func (c *call) getDomain() {
	defer c.lock()()
	p := c.maintained()
	if p == nil {
		return
	}
	if d := c.domain(p); d != nil {
		c.s.autoSSL(d)
		writeJSON(c.w, http.StatusOK, c.s.domainView(d))
	}
}

func (c *call) createDomain() {
	defer c.lock()()
	p := c.maintained()
	if p == nil {
		return
	}
	name, given, err := c.str("domain")
	if err == nil && (!given || name == "") {
		apiError(c.w, http.StatusBadRequest, "error", "domain is missing")
		return
	}
	autoSSL, _, err2 := c.boolean("auto_ssl_enabled")
	certPEM, _, err3 := c.str("certificate")
	keyPEM, _, err4 := c.str("key")
	for _, e := range []error{err, err2, err3, err4} {
		if e != nil {
			apiError(c.w, http.StatusBadRequest, "error", e.Error())
			return
		}
	}
	name = strings.ToLower(strings.TrimSpace(name))
	errs := map[string][]string{}
	switch {
	case !validHostname(name):
		errs["domain"] = []string{"is invalid"}
	case name == c.s.pagesHost || strings.HasSuffix(name, "."+c.s.pagesHost):
		errs["domain"] = []string{"*." + c.s.pagesHost + " is restricted. Please compare our documentation at https://docs.gitlab.com/ee/administration/pages/#advanced-configuration against your configuration."}
	case c.s.st.domains[name] != nil:
		errs["domain"] = []string{"has already been taken"}
	}
	cert, certErrs := parseUserCertificate(certPEM, keyPEM)
	maps.Copy(errs, certErrs)
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	d, err := c.s.st.addDomain(p, name)
	if err != nil { // checked above; a seeding race is the only way here
		c.invalid(map[string][]string{"domain": {"has already been taken"}})
		return
	}
	d.autoSSL, d.cert = autoSSL, cert
	writeJSON(c.w, http.StatusCreated, c.s.domainView(d))
}

// updateDomain changes what is sent and leaves the rest: a certificate
// without a key is checked against the key already there, and an empty
// certificate and key remove the certificate. Turning auto SSL off drops a
// certificate GitLab issued, keeping one the user gave.
func (c *call) updateDomain() {
	defer c.lock()()
	p := c.maintained()
	if p == nil {
		return
	}
	d := c.domain(p)
	if d == nil {
		return
	}
	autoSSL, sslGiven, err := c.boolean("auto_ssl_enabled")
	certPEM, certGiven, err2 := c.str("certificate")
	keyPEM, keyGiven, err3 := c.str("key")
	for _, e := range []error{err, err2, err3} {
		if e != nil {
			apiError(c.w, http.StatusBadRequest, "error", e.Error())
			return
		}
	}
	cert := d.cert
	if certGiven || keyGiven {
		var oldCert, oldKey string
		if d.cert != nil {
			oldCert, oldKey = d.cert.pem, d.cert.key
		}
		if !certGiven {
			certPEM = oldCert
		}
		if !keyGiven {
			keyPEM = oldKey
		}
		var errs map[string][]string
		if cert, errs = parseUserCertificate(certPEM, keyPEM); len(errs) > 0 {
			c.invalid(errs)
			return
		}
	}
	if sslGiven {
		d.autoSSL = autoSSL
		if !autoSSL && cert != nil && cert.source == "gitlab_provided" {
			cert = nil
		}
	}
	d.cert = cert
	writeJSON(c.w, http.StatusOK, c.s.domainView(d))
}

func (c *call) deleteDomain() {
	defer c.lock()()
	p := c.maintained()
	if p == nil {
		return
	}
	if d := c.domain(p); d != nil {
		delete(c.s.st.domains, d.name)
		c.w.WriteHeader(http.StatusNoContent)
	}
}

// verifyDomain checks the domain's TXT record now, as GitLab's "Verify"
// button does. The lock is let go for the lookup, which may be slow; a
// domain deleted meanwhile is then not found.
func (c *call) verifyDomain() {
	unlock := c.lock()
	p := c.maintained()
	var d *domain
	if p != nil {
		d = c.domain(p)
	}
	if d == nil {
		unlock()
		return
	}
	name, code, resolve := d.name, d.code, c.s.resolver
	unlock()

	ok := verified(c.r.Context(), resolve, name, code)

	defer c.lock()()
	if d = c.s.st.domains[name]; d == nil || d.project != p || d.code != code {
		c.notFound("Pages Domain")
		return
	}
	if ok {
		until := c.s.now().Add(verificationPeriod)
		d.verified, d.enabledUntil = true, &until
	} else {
		// GitLab unverifies and leaves enabled_until: the domain is served
		// until then, so that a DNS hiccup does not take a site down.
		d.verified = false
	}
	writeJSON(c.w, http.StatusOK, c.s.domainView(d))
}

// verified looks for "gitlab-pages-verification-code=<code>" in the TXT
// records of _gitlab-pages-verification-code.<domain> and, as GitLab also
// accepts, of the domain itself. A failed lookup is a missing record.
func verified(ctx context.Context, resolve Resolver, name, code string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	want := "gitlab-pages-verification-code=" + code
	for _, n := range []string{verificationPrefix + name, name} {
		records, err := resolve(ctx, n)
		if err != nil {
			continue
		}
		if slices.Contains(records, want) {
			return true
		}
	}
	return false
}

// autoSSL plays GitLab's Let's Encrypt worker, which has a verified domain
// with auto SSL on get a certificate, replaces a user's certificate and
// renews one that expires within 30 days. It runs when a domain is read,
// so a certificate shows up on the first read after verification. Call
// with Server.mu held.
func (s *Server) autoSSL(d *domain) {
	if !d.verified || !d.autoSSL {
		return
	}
	now := s.now()
	if d.cert != nil && d.cert.source == "gitlab_provided" && d.cert.notAfter.Sub(now) > autoSSLRenewal {
		return
	}
	if cert, err := issue(d.name, now); err == nil {
		d.cert = cert
	}
}
