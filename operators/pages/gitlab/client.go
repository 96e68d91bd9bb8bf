package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go"

	gatepkg "github.com/atrium-dev/atrium/internal/gate"
)

// Config is how to reach GitLab.
type Config struct {
	// URL of the GitLab instance ("https://gitlab.example.org").
	URL string
	// Token of the bot user: an admin's, to read the instance's domains in
	// one list, or a user's that is Maintainer of the projects.
	Token string
	// Timeout of each request.
	Timeout time.Duration
	// QPS and Burst pace the requests; beyond them a call fails at once
	// as RateLimited, to be asked again when a token is due.
	QPS   float64
	Burst int
	// HTTPClient is the transport (tests; a custom CA).
	HTTPClient *http.Client
	// Now is the clock (tests).
	Now func() time.Time
}

// Client makes the operator's GitLab calls.
type Client struct {
	api     *gl.Client
	gate    gate
	timeout time.Duration
	now     func() time.Time
}

// New returns a Client; it does not contact GitLab.
func New(c Config) (*Client, error) {
	if c.URL == "" || c.Token == "" {
		return nil, fmt.Errorf("a GitLab URL and token are needed")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.QPS == 0 {
		c.QPS, c.Burst = 10, 20
	}
	g := gate{gatepkg.New(c.QPS, c.Burst, c.Now)}
	opts := []gl.ClientOptionFunc{gl.WithBaseURL(strings.TrimSuffix(c.URL, "/") + "/api/v4"), gl.WithoutRetries(), gl.WithCustomLimiter(g)}
	if c.HTTPClient != nil {
		opts = append(opts, gl.WithHTTPClient(c.HTTPClient))
	}
	api, err := gl.NewClient(c.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("GitLab client: %w", err)
	}
	return &Client{api: api, gate: g, timeout: c.Timeout, now: c.Now}, nil
}

// gate is the client's limiter (GitLab's client takes a Wait method):
// closed while GitLab asked to wait, and pacing requests otherwise. It
// never blocks.
type gate struct{ *gatepkg.Gate }

func (g gate) Wait(ctx context.Context) error {
	wait, closed := g.Take(gatepkg.KeyOf(ctx))
	return gatepkg.Refusal("GitLab", wait, closed, func(wait time.Duration, why string) error {
		return &Error{Reason: RateLimited, RetryAfter: wait, Message: why}
	})
}

// For marks the calls made with the returned context as made for one
// object (its UID), which keeps its turn when the pacing keeps it back
// (gate.For).
func For(ctx context.Context, key string) context.Context { return gatepkg.For(ctx, key) }

// Gated says that err is a call the client's gate kept from GitLab
// (paced, or waiting after a 429): nothing was sent.
func Gated(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == RateLimited && e.Status == 0
}

// call runs one request with the client's timeout and turns its failure
// into an Error; a 429 closes the gate.
func call[T any](ctx context.Context, c *Client, name string, f func(opts ...gl.RequestOptionFunc) (T, *gl.Response, error)) (T, *gl.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	v, resp, err := f(gl.WithContext(ctx))
	err = classify(resp, err, c.now())
	observe(name, resp, err, time.Since(start))
	if err != nil {
		if e, ok := err.(*Error); ok && e.Reason == RateLimited && e.Status != 0 {
			c.gate.Close(e.RetryAfter)
		}
		var zero T
		return zero, resp, err
	}
	return v, resp, nil
}

// Project is what the operator needs of a GitLab project.
type Project struct {
	ID          int64
	Path        string
	PagesAccess string
	WebURL      string
}

func projectOf(p *gl.Project) Project {
	return Project{ID: p.ID, Path: p.PathWithNamespace, PagesAccess: string(p.PagesAccessLevel), WebURL: p.WebURL}
}

// pid is how a project reference is passed: a number, or a path.
func pid(ref string) any {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return id
	}
	return ref
}

// Project reads a project by path or numeric id.
func (c *Client) Project(ctx context.Context, ref string) (Project, error) {
	p, _, err := call(ctx, c, "Project", func(o ...gl.RequestOptionFunc) (*gl.Project, *gl.Response, error) {
		return c.api.Projects.GetProject(pid(ref), nil, o...)
	})
	if err != nil {
		return Project{}, err
	}
	return projectOf(p), nil
}

// SetPagesAccess sets the project's pages_access_level.
func (c *Client) SetPagesAccess(ctx context.Context, projectID int64, level string) (Project, error) {
	v := gl.AccessControlValue(level)
	p, _, err := call(ctx, c, "SetPagesAccess", func(o ...gl.RequestOptionFunc) (*gl.Project, *gl.Response, error) {
		return c.api.Projects.EditProject(projectID, &gl.EditProjectOptions{PagesAccessLevel: &v}, o...)
	})
	if err != nil {
		return Project{}, err
	}
	return projectOf(p), nil
}

// AccessLevel returns a GitLab user's access level in a project, members
// of its groups included (0 when the user is not a member or does not
// exist).
func (c *Client) AccessLevel(ctx context.Context, projectID int64, username string) (int, error) {
	users, _, err := call(ctx, c, "FindUser", func(o ...gl.RequestOptionFunc) ([]*gl.User, *gl.Response, error) {
		return c.api.Users.ListUsers(&gl.ListUsersOptions{Username: &username}, o...)
	})
	if err != nil {
		return 0, err
	}
	var id int64
	for _, u := range users {
		if strings.EqualFold(u.Username, username) {
			id = u.ID
		}
	}
	if id == 0 {
		return 0, nil
	}
	m, _, err := call(ctx, c, "Member", func(o ...gl.RequestOptionFunc) (*gl.ProjectMember, *gl.Response, error) {
		return c.api.ProjectMembers.GetInheritedProjectMember(projectID, id, o...)
	})
	if ReasonOf(err) == NotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if m.State != "" && m.State != "active" {
		return 0, nil
	}
	return int(m.AccessLevel), nil
}

// Certificate is a Pages domain's certificate as GitLab reports it.
type Certificate struct {
	Subject    string
	Expiration *time.Time
	Expired    bool
	PEM        string
}

// Domain is a Pages domain.
type Domain struct {
	Name         string
	ProjectID    int64
	URL          string
	AutoSSL      bool
	Verified     bool
	Code         string
	EnabledUntil *time.Time
	Certificate  *Certificate
}

// domainOf reads a domain; GitLab names its project only in the
// instance-wide list, so calls about one project's domain give it.
func domainOf(d *gl.PagesDomain, projectID int64) Domain {
	if d.ProjectID != 0 {
		projectID = d.ProjectID
	}
	out := Domain{Name: strings.ToLower(d.Domain), ProjectID: projectID, URL: d.URL, AutoSSL: d.AutoSslEnabled,
		Verified: d.Verified, Code: d.VerificationCode, EnabledUntil: d.EnabledUntil}
	// The instance-wide list gives only a certificate's expiry.
	if c := d.Certificate; c.Certificate != "" || c.Subject != "" || c.Expiration != nil {
		out.Certificate = &Certificate{Subject: c.Subject, Expiration: c.Expiration, Expired: c.Expired, PEM: c.Certificate}
	}
	return out
}

// DomainsPage reads one page of the instance's Pages domains (an admin
// token), a hundred a page, and the number of the next page (0 after the
// last). The list is read a page a call, not at once, so that a list
// longer than the client's burst is not lost whenever the pacing keeps a
// page back: the caller keeps what it has read and goes on from next.
func (c *Client) DomainsPage(ctx context.Context, page int64) ([]Domain, int64, error) {
	ds, resp, err := call(ctx, c, "AllDomains", func(o ...gl.RequestOptionFunc) ([]*gl.PagesDomain, *gl.Response, error) {
		return c.api.PagesDomains.ListAllPagesDomains(append(o, gl.WithOffsetPaginationParameters(page), perPage(domainsPerPage))...)
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, domainOf(d, 0))
	}
	return out, resp.NextPage, nil
}

// domainsPerPage is the most GitLab gives in one page.
const domainsPerPage = 100

// ProjectDomains lists a project's Pages domains.
func (c *Client) ProjectDomains(ctx context.Context, projectID int64) ([]Domain, error) {
	var out []Domain
	for page := int64(1); page > 0; {
		ds, resp, err := call(ctx, c, "ProjectDomains", func(o ...gl.RequestOptionFunc) ([]*gl.PagesDomain, *gl.Response, error) {
			return c.api.PagesDomains.ListPagesDomains(projectID, &gl.ListPagesDomainsOptions{ListOptions: gl.ListOptions{Page: page, PerPage: 100}}, o...)
		})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			out = append(out, domainOf(d, projectID))
		}
		page = resp.NextPage
	}
	return out, nil
}

// ProjectDomain reads one of a project's Pages domains; found is false
// when the project has no such domain (another project may).
func (c *Client) ProjectDomain(ctx context.Context, projectID int64, name string) (Domain, bool, error) {
	d, _, err := call(ctx, c, "ProjectDomain", func(o ...gl.RequestOptionFunc) (*gl.PagesDomain, *gl.Response, error) {
		return c.api.PagesDomains.GetPagesDomain(projectID, name, o...)
	})
	switch {
	case ReasonOf(err) == NotFound:
		return Domain{}, false, nil
	case err != nil:
		return Domain{}, false, err
	}
	return domainOf(d, projectID), true, nil
}

// perPage sets per_page on a request whose method takes no list options.
func perPage(n int) gl.RequestOptionFunc {
	return func(r *retryablehttp.Request) error {
		q := r.URL.Query()
		q.Set("per_page", strconv.Itoa(n))
		r.URL.RawQuery = q.Encode()
		return nil
	}
}

// TLS is how a domain gets its certificate: GitLab's automatic one, or
// the given certificate and key.
type TLS struct {
	Auto        bool
	Certificate string
	Key         string
	// NotAfter is the certificate's expiry, and Changed says it is not the
	// one last uploaded: what tells a certificate in place from another
	// when GitLab's list gives only expiries.
	NotAfter time.Time
	Changed  bool
	// Version is the version of where the certificate comes from (the
	// Secret's resourceVersion), recorded once it is uploaded.
	Version string
}

// CreateDomain adds a Pages domain to a project.
func (c *Client) CreateDomain(ctx context.Context, projectID int64, name string, tls TLS) (Domain, error) {
	opt := &gl.CreatePagesDomainOptions{Domain: &name, AutoSslEnabled: &tls.Auto}
	if !tls.Auto {
		opt.Certificate, opt.Key = &tls.Certificate, &tls.Key
	}
	d, _, err := call(ctx, c, "CreateDomain", func(o ...gl.RequestOptionFunc) (*gl.PagesDomain, *gl.Response, error) {
		return c.api.PagesDomains.CreatePagesDomain(projectID, opt, o...)
	})
	if err != nil {
		return Domain{}, err
	}
	return domainOf(d, projectID), nil
}

// UpdateDomain sets how a domain gets its certificate.
func (c *Client) UpdateDomain(ctx context.Context, projectID int64, name string, tls TLS) (Domain, error) {
	opt := &gl.UpdatePagesDomainOptions{AutoSslEnabled: &tls.Auto}
	if !tls.Auto {
		opt.Certificate, opt.Key = &tls.Certificate, &tls.Key
	}
	d, _, err := call(ctx, c, "UpdateDomain", func(o ...gl.RequestOptionFunc) (*gl.PagesDomain, *gl.Response, error) {
		return c.api.PagesDomains.UpdatePagesDomain(projectID, name, opt, o...)
	})
	if err != nil {
		return Domain{}, err
	}
	return domainOf(d, projectID), nil
}

// DeleteDomain removes a Pages domain; one already gone is no error.
func (c *Client) DeleteDomain(ctx context.Context, projectID int64, name string) error {
	_, _, err := call(ctx, c, "DeleteDomain", func(o ...gl.RequestOptionFunc) (struct{}, *gl.Response, error) {
		resp, err := c.api.PagesDomains.DeletePagesDomain(projectID, name, o...)
		return struct{}{}, resp, err
	})
	if ReasonOf(err) == NotFound {
		return nil
	}
	return err
}

// VerifyDomain asks GitLab to check the domain's verification record now
// (PUT /projects/:id/pages/domains/:domain/verify, which the client has
// no method for).
func (c *Client) VerifyDomain(ctx context.Context, projectID int64, name string) (Domain, error) {
	d, _, err := call(ctx, c, "VerifyDomain", func(o ...gl.RequestOptionFunc) (*gl.PagesDomain, *gl.Response, error) {
		path := fmt.Sprintf("projects/%d/pages/domains/%s/verify", projectID, url.PathEscape(name))
		req, err := c.api.NewRequest(http.MethodPut, path, nil, o)
		if err != nil {
			return nil, nil, err
		}
		d := &gl.PagesDomain{}
		resp, err := c.api.Do(req, d)
		return d, resp, err
	})
	if err != nil {
		return Domain{}, err
	}
	return domainOf(d, projectID), nil
}
