package controllers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/operators/pages/gitlab"
)

// publish brings GitLab and the cluster to what the site asks, one phase
// after the other; the first that cannot go on says why in the outcome.
// Nothing is written to GitLab before the Project is known to control
// the GitLab project.
func (r *SiteReconciler) publish(ctx context.Context, site *pagesv1.GitLabPagesSite) outcome {
	// A changed spec reads GitLab afresh; a new site and a resync use what
	// was read for the other sites of the same GitLab project (a domain
	// made elsewhere since is refused as taken when it is created).
	force := site.Status.ObservedGeneration != 0 && site.Status.ObservedGeneration != site.Generation
	project, o, ok := r.authorize(ctx, site, force)
	if !ok {
		return o
	}
	if o, ok := r.moveAway(ctx, site, project); !ok {
		return o
	}
	site.Status.ProjectID = project.ID
	want, o, ok := r.certificate(ctx, site)
	if !ok {
		return o
	}
	d, o, ok := r.domain(ctx, site, project, want, force)
	if !ok {
		return o
	}
	if o, ok := r.access(ctx, site, project); !ok {
		return o
	}
	if o, ok := r.route(ctx, site); !ok {
		return o
	}
	return r.verify(ctx, site, project, d)
}

// authorize reads the GitLab project and checks that the Project's owner
// is a Maintainer (or Owner) of it. A Project's admins do not count: the
// owner names them without asking, and could borrow their GitLab rights.
func (r *SiteReconciler) authorize(ctx context.Context, site *pagesv1.GitLabPagesSite, force bool) (gitlab.Project, outcome, bool) {
	deny := func(reason, format string, args ...any) (gitlab.Project, outcome, bool) {
		msg := fmt.Sprintf(format, args...)
		r.setCondition(site, pagesv1.ConditionAuthorized, metav1.ConditionFalse, reason, msg)
		return gitlab.Project{}, outcome{ready: ready(metav1.ConditionFalse, reason, "%s", msg)}, false
	}
	owner, err := r.ownerOf(ctx, site.Namespace)
	if err != nil {
		return gitlab.Project{}, outcome{ready: ready(metav1.ConditionFalse, "ProjectUnknown", "reading the site's Project: %v", err), failed: true}, false
	}
	if owner == "" {
		return deny("NotInProject", "namespace %s belongs to no Project; GitLab Pages sites are published from a Project's namespace", site.Namespace)
	}
	user, ok := r.Identities.GitLabUser(owner)
	if !ok {
		return deny("NoGitLabUser", "the Project's owner %s has no GitLab user; an admin can map them in the operator's identity mapping", owner)
	}
	project, err := r.State.Project(ctx, site.Spec.Project, force)
	switch {
	case gitlab.ReasonOf(err) == gitlab.NotFound:
		return deny("GitLabProjectNotFound", "GitLab project %s does not exist, or the operator's bot user cannot see it", site.Spec.Project)
	case err != nil:
		o := gitLabFailed("reading GitLab project "+site.Spec.Project, err)
		return gitlab.Project{}, o, false
	}
	level, err := r.State.AccessLevel(ctx, project.ID, user, force)
	if err != nil {
		return gitlab.Project{}, gitLabFailed("reading the members of GitLab project "+project.Path, err), false
	}
	if level < maintainer {
		return deny("NotMaintainer", "the Project's owner %s (GitLab user %s) is not a Maintainer or Owner of GitLab project %s, so this Project cannot publish it; nothing was changed in GitLab", owner, user, project.Path)
	}
	r.setCondition(site, pagesv1.ConditionAuthorized, metav1.ConditionTrue, "Maintainer",
		fmt.Sprintf("the Project's owner %s (GitLab user %s) is a Maintainer or Owner of GitLab project %s", owner, user, project.Path))
	return project, outcome{}, true
}

// ownerOf is the owner of the Project a namespace belongs to, "" when it
// belongs to none.
func (r *SiteReconciler) ownerOf(ctx context.Context, namespace string) (string, error) {
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return "", err
	}
	name := ns.Labels[tenancyv1.ProjectLabel]
	if name == "" {
		return "", nil
	}
	p := &tenancyv1.Project{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	if p.Status.Namespace != "" && p.Status.Namespace != namespace {
		return "", nil
	}
	return p.Spec.Owner, nil
}

// moveAway removes the domain this site made in the GitLab project it
// named before, when it now names another.
func (r *SiteReconciler) moveAway(ctx context.Context, site *pagesv1.GitLabPagesSite, project gitlab.Project) (outcome, bool) {
	old := site.Status.ProjectID
	if old == 0 || old == project.ID {
		return outcome{}, true
	}
	if site.Status.DomainCreated {
		if o, ok := r.deleteDomain(ctx, site, old); !ok {
			return o, false
		}
	}
	site.Status.DomainCreated, site.Status.Verification, site.Status.Certificate = false, nil, nil
	return outcome{}, true
}

// certificate reads what the site asks GitLab to serve: its automatic
// certificate, or the certificate and key of the site's Secret.
func (r *SiteReconciler) certificate(ctx context.Context, site *pagesv1.GitLabPagesSite) (gitlab.TLS, outcome, bool) {
	if site.Spec.TLS.Source != pagesv1.CertificateSecret {
		return gitlab.TLS{Auto: true}, outcome{}, true
	}
	bad := func(format string, args ...any) (gitlab.TLS, outcome, bool) {
		return gitlab.TLS{}, outcome{ready: ready(metav1.ConditionFalse, "CertificateInvalid", format, args...)}, false
	}
	s := &corev1.Secret{}
	err := r.Secrets.Get(ctx, client.ObjectKey{Namespace: site.Namespace, Name: site.Spec.TLS.SecretName}, s)
	switch {
	case apierrors.IsNotFound(err):
		return bad("Secret %s does not exist in namespace %s", site.Spec.TLS.SecretName, site.Namespace)
	case err != nil:
		return gitlab.TLS{}, outcome{ready: ready(metav1.ConditionFalse, "SecretUnreadable", "reading Secret %s: %v", site.Spec.TLS.SecretName, err), failed: true}, false
	case s.Type != corev1.SecretTypeTLS:
		return bad("Secret %s is of type %s; a site's certificate is a %s Secret", s.Name, s.Type, corev1.SecretTypeTLS)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return bad("Secret %s does not hold a certificate and its key: %v", s.Name, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return bad("Secret %s: %v", s.Name, err)
	}
	if err := leaf.VerifyHostname(site.Spec.Hostname); err != nil {
		return bad("the certificate in Secret %s is not for %s: %v", s.Name, site.Spec.Hostname, err)
	}
	changed := site.Status.Certificate == nil || site.Status.Certificate.SecretResourceVersion != s.ResourceVersion
	return gitlab.TLS{Certificate: string(crt), Key: string(key), NotAfter: leaf.NotAfter, Changed: changed, Version: s.ResourceVersion}, outcome{}, true
}

// domain makes sure the GitLab project has the site's Pages domain, with
// the certificate asked for. A domain of another GitLab project is
// reported and left alone. The site's status says the domain is this
// operator's before it is created, so a restart in between still knows.
func (r *SiteReconciler) domain(ctx context.Context, site *pagesv1.GitLabPagesSite, project gitlab.Project, want gitlab.TLS, force bool) (gitlab.Domain, outcome, bool) {
	host := site.Spec.Hostname
	d, found, err := r.State.Domain(ctx, project.ID, host, force)
	if err != nil {
		return d, gitLabFailed("reading the Pages domains", err), false
	}
	taken := func(other string) (gitlab.Domain, outcome, bool) {
		msg := fmt.Sprintf("GitLab says domain %s belongs to %s; it is not taken over: remove it there, or publish another hostname", host, other)
		r.setCondition(site, pagesv1.ConditionDomainVerified, metav1.ConditionFalse, "DomainTaken", msg)
		return d, outcome{ready: ready(metav1.ConditionFalse, "DomainTaken", "%s", msg)}, false
	}
	switch {
	case found && d.ProjectID != project.ID:
		return taken(fmt.Sprintf("another GitLab project (id %d)", d.ProjectID))
	case !found:
		madeBefore := site.Status.DomainCreated
		if !site.Status.DomainCreated {
			site.Status.DomainCreated = true
			if err := r.Client.Status().Update(ctx, site); err != nil {
				return d, outcome{ready: ready(metav1.ConditionFalse, "StatusUnwritten", "recording the domain before creating it: %v", err), failed: true}, false
			}
		}
		d, created, err := r.State.CreateDomain(ctx, project.ID, host, want)
		switch gitlab.ReasonOf(err) {
		case "":
			if !created {
				// The project had it already: made by this operator
				// only if it said so before this create.
				site.Status.DomainCreated = madeBefore
				return r.serve(ctx, site, project, d, want)
			}
			r.uploaded(site, want)
			r.event(site, corev1.EventTypeNormal, "DomainCreated", "Create", "Created Pages domain %s in GitLab project %s", host, project.Path)
			return d, outcome{}, true
		case gitlab.Taken:
			site.Status.DomainCreated = false
			return taken("a GitLab project the operator cannot see")
		case gitlab.Invalid:
			site.Status.DomainCreated = false
			return d, outcome{ready: ready(metav1.ConditionFalse, "DomainRefused", "GitLab refused domain %s: %v", host, err)}, false
		}
		return d, gitLabFailed("creating Pages domain "+host, err), false
	}
	return r.serve(ctx, site, project, d, want)
}

// serve makes the project's domain d serve the certificate asked for.
func (r *SiteReconciler) serve(ctx context.Context, site *pagesv1.GitLabPagesSite, project gitlab.Project, d gitlab.Domain, want gitlab.TLS) (gitlab.Domain, outcome, bool) {
	host := site.Spec.Hostname
	if sameTLS(d, want) {
		r.uploaded(site, want)
		return d, outcome{}, true
	}
	d, err := r.State.GitLab.UpdateDomain(ctx, project.ID, host, want)
	switch gitlab.ReasonOf(err) {
	case "":
		r.State.PutDomain(d)
		r.uploaded(site, want)
		r.event(site, corev1.EventTypeNormal, "CertificateUpdated", "Update", "Updated the certificate of Pages domain %s", host)
		return d, outcome{}, true
	case gitlab.Invalid:
		return d, outcome{ready: ready(metav1.ConditionFalse, "CertificateRefused", "GitLab refused the certificate for %s: %v", host, err)}, false
	}
	return d, gitLabFailed("updating Pages domain "+host, err), false
}

// sameTLS reports whether GitLab already serves the domain as asked: the
// same certificate when GitLab shows it (a project's list), else one of
// the same expiry when the Secret has not changed since it was uploaded
// (the instance-wide list shows only expiries).
func sameTLS(d gitlab.Domain, want gitlab.TLS) bool {
	if want.Auto {
		return d.AutoSSL
	}
	if d.AutoSSL || d.Certificate == nil {
		return false
	}
	if d.Certificate.PEM != "" {
		return bytes.Equal(firstCert(d.Certificate.PEM), firstCert(want.Certificate))
	}
	return !want.Changed && d.Certificate.Expiration != nil && d.Certificate.Expiration.Unix() == want.NotAfter.Unix()
}

// uploaded records which version of the site's Secret GitLab serves.
func (r *SiteReconciler) uploaded(site *pagesv1.GitLabPagesSite, want gitlab.TLS) {
	if want.Auto {
		return
	}
	if site.Status.Certificate == nil {
		site.Status.Certificate = &pagesv1.Certificate{Source: pagesv1.CertificateSecret}
	}
	site.Status.Certificate.SecretResourceVersion = want.Version
}

// firstCert is the DER of the first certificate in a PEM bundle.
func firstCert(s string) []byte {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if b == nil {
		return nil
	}
	return b.Bytes
}

// access sets the GitLab project's pages_access_level.
func (r *SiteReconciler) access(ctx context.Context, site *pagesv1.GitLabPagesSite, project gitlab.Project) (outcome, bool) {
	want := "public"
	if site.Spec.Access == pagesv1.AccessPrivate {
		want = "private"
	}
	// Another site of the project may have set it since this one read it.
	if cur, err := r.State.Project(ctx, site.Spec.Project, false); err == nil {
		project = cur
	}
	if project.PagesAccess == want {
		return outcome{}, true
	}
	if _, err := r.State.SetPagesAccess(ctx, site.Spec.Project, project.ID, want); err != nil {
		return gitLabFailed("setting the Pages access level of "+project.Path, err), false
	}
	r.event(site, corev1.EventTypeNormal, "AccessLevelSet", "Update", "Set the Pages access level of GitLab project %s to %s", project.Path, want)
	return outcome{}, true
}

// verify reports the domain's verification and, while GitLab has not
// verified it, asks GitLab to check the record the DNS operator publishes
// from the site's status, less and less often.
func (r *SiteReconciler) verify(ctx context.Context, site *pagesv1.GitLabPagesSite, project gitlab.Project, d gitlab.Domain) outcome {
	fresh := site.Status.Verification == nil || site.Status.Verification.Code != d.Code
	if !d.Verified && !fresh && r.verifyDue(site) {
		v, err := r.State.GitLab.VerifyDomain(ctx, project.ID, d.Name)
		if err != nil {
			return gitLabFailed("asking GitLab to verify "+d.Name, err)
		}
		r.State.PutDomain(v)
		d = v
		if d.Verified {
			r.event(site, corev1.EventTypeNormal, "DomainVerified", "Verify", "GitLab verified domain %s", d.Name)
		}
	}
	site.Status.Verification = &pagesv1.Verification{
		RecordName: sources.VerificationRecordPrefix + d.Name, Code: d.Code, Verified: d.Verified, EnabledUntil: metaTime(d.EnabledUntil),
	}
	// GitLab serves the domain over HTTPS once it has a certificate.
	switch {
	case d.Certificate != nil:
		site.Status.URL = "https://" + d.Name
	case d.URL != "":
		site.Status.URL = d.URL
	default:
		site.Status.URL = "http://" + d.Name
	}
	r.reportCertificate(site, d)
	if !d.Verified {
		r.setCondition(site, pagesv1.ConditionDomainVerified, metav1.ConditionFalse, "VerificationPending",
			fmt.Sprintf("GitLab has not verified %s yet; the record %s is published through the fleet's DNS and GitLab is asked again", d.Name, site.Status.Verification.RecordName))
		return outcome{ready: ready(metav1.ConditionFalse, "VerificationPending", "waiting for GitLab to verify domain %s", d.Name), after: r.verifyWait(site, fresh)}
	}
	r.forgetVerify(site)
	r.setCondition(site, pagesv1.ConditionDomainVerified, metav1.ConditionTrue, "Verified", fmt.Sprintf("GitLab verified %s", d.Name))
	return outcome{ready: ready(metav1.ConditionTrue, "Published", "%s serves the Pages of GitLab project %s", site.Status.URL, project.Path)}
}

func (r *SiteReconciler) reportCertificate(site *pagesv1.GitLabPagesSite, d gitlab.Domain) {
	c := site.Status.Certificate
	if c == nil || (d.AutoSSL && c.Source != pagesv1.CertificateAutomatic) {
		c = &pagesv1.Certificate{}
	}
	c.Source = pagesv1.CertificateSecret
	if d.AutoSSL {
		c.Source, c.SecretResourceVersion = pagesv1.CertificateAutomatic, ""
	}
	if d.Certificate == nil {
		c.Subject, c.Expiration, c.Expired = "", nil, false
	} else {
		// The instance-wide list names no subject: keep the one read last.
		if d.Certificate.Subject != "" {
			c.Subject = d.Certificate.Subject
		}
		c.Expiration, c.Expired = metaTime(d.Certificate.Expiration), d.Certificate.Expired
	}
	site.Status.Certificate = c
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	m := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &m
}

// verifyDue reports whether it is time to ask GitLab again, so that the
// site's other events (its Ingress's status, a resync) do not add calls.
func (r *SiteReconciler) verifyDue(site *pagesv1.GitLabPagesSite) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !time.Now().Before(r.verifies[site.UID].due)
}

// verifyWait is how long to wait before asking GitLab to verify again:
// VerifyAfter, doubling each time up to MaxBackoff.
func (r *SiteReconciler) verifyWait(site *pagesv1.GitLabPagesSite, fresh bool) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verifies == nil {
		r.verifies = map[types.UID]verifying{}
	}
	v := r.verifies[site.UID]
	if !time.Now().Before(v.due) {
		wait := jitter(max(min(r.VerifyAfter<<min(v.asked, 20), r.MaxBackoff), 100*time.Millisecond))
		if !fresh {
			v.asked++
		}
		v.due = time.Now().Add(wait)
		r.verifies[site.UID] = v
	}
	return time.Until(v.due)
}

// verifying is where a site's unverified domain stands.
type verifying struct {
	asked int
	due   time.Time
}

func (r *SiteReconciler) forgetVerify(site *pagesv1.GitLabPagesSite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.verifies, site.UID)
}
