package gitlabfake

import (
	"strings"
	"time"
)

// The JSON the endpoints answer with. Maps rather than structs, so that a
// field is present, null or absent exactly where GitLab's entities have it.

// gitlabTime writes a time as GitLab does: UTC with milliseconds.
func gitlabTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func optionalTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return gitlabTime(*t)
}

func (s *Server) userView(u *user, viewer *user) map[string]any {
	m := map[string]any{
		"id": u.id, "username": u.username, "name": u.name, "state": "active", "locked": false,
		"avatar_url": nil, "web_url": s.URL + "/" + u.username, "created_at": gitlabTime(u.created),
		"bot": false,
	}
	// GitLab shows is_admin to administrators only (UserWithAdmin).
	if viewer.admin {
		m["is_admin"] = u.admin
	}
	return m
}

func (s *Server) namespaceView(n *namespace) map[string]any {
	m := map[string]any{
		"id": n.id, "name": n.path, "path": n.path, "kind": n.kind, "full_path": n.fullPath,
		"parent_id": nil, "avatar_url": nil,
	}
	if n.parent != nil {
		m["parent_id"] = n.parent.id
	}
	if n.kind == "group" {
		m["web_url"] = s.URL + "/groups/" + n.fullPath
	} else {
		m["name"] = n.owner.name
		m["web_url"] = s.URL + "/" + n.fullPath
	}
	return m
}

func (s *Server) projectView(p *project, viewer *user) map[string]any {
	names := []string{}
	for n := p.ns; n != nil; n = n.parent {
		name := n.path
		if n.owner != nil {
			name = n.owner.name
		}
		names = append([]string{name}, names...)
	}
	m := map[string]any{
		"id": p.id, "description": "", "name": p.path, "path": p.path,
		"name_with_namespace": strings.Join(append(names, p.path), " / "),
		"path_with_namespace": p.fullPath(), "created_at": gitlabTime(p.created),
		"default_branch": "main", "visibility": string(p.visibility), "web_url": s.URL + "/" + p.fullPath(),
		"http_url_to_repo": s.URL + "/" + p.fullPath() + ".git", "archived": false, "empty_repo": true,
		"pages_access_level": p.pagesAccess, "namespace": s.namespaceView(p.ns),
		"permissions": map[string]any{"project_access": accessView(p.members[viewer.id]), "group_access": accessView(p.ns.inherited(viewer))},
	}
	if p.ns.owner != nil {
		m["owner"] = map[string]any{"id": p.ns.owner.id, "username": p.ns.owner.username, "name": p.ns.owner.name, "state": "active", "web_url": s.URL + "/" + p.ns.owner.username}
	}
	return m
}

// accessView is a permissions entry; GitLab writes null where the user has
// no membership of that kind. The notification level is "global" (3).
func accessView(l AccessLevel) any {
	if l == NoAccess {
		return nil
	}
	return map[string]any{"access_level": int(l), "notification_level": 3}
}

func (s *Server) memberView(u *user, l AccessLevel) map[string]any {
	return map[string]any{
		"id": u.id, "username": u.username, "name": u.name, "state": "active", "avatar_url": nil,
		"web_url": s.URL + "/" + u.username, "access_level": int(l), "created_at": gitlabTime(u.created),
		"expires_at": nil, "membership_state": "active",
	}
}

// domainView is GitLab's PagesDomain entity (the project endpoints):
// certificate in full, and absent without one; no project_id, which only
// the instance-wide list (domainBasicView) has.
func (s *Server) domainView(d *domain) map[string]any {
	m := s.domainCommon(d)
	if c := d.cert; c != nil {
		m["certificate"] = map[string]any{
			"subject": c.subject, "expired": c.expired(s.now()), "expiration": gitlabTime(c.notAfter),
			"certificate": c.pem, "certificate_text": c.text,
		}
	}
	return m
}

// domainBasicView is GitLab's PagesDomainBasic entity (GET /pages/domains).
func (s *Server) domainBasicView(d *domain) map[string]any {
	m := s.domainCommon(d)
	m["project_id"] = d.project.id
	if c := d.cert; c != nil {
		m["certificate"] = map[string]any{"expired": c.expired(s.now()), "expiration": gitlabTime(c.notAfter)}
	}
	return m
}

func (s *Server) domainCommon(d *domain) map[string]any {
	return map[string]any{
		"domain": d.name, "url": d.url(), "verified": d.verified, "verification_code": d.code,
		"enabled_until": optionalTime(d.enabledUntil), "auto_ssl_enabled": d.autoSSL,
	}
}

// url is https once the domain has a certificate, as in GitLab.
func (d *domain) url() string {
	if d.cert != nil {
		return "https://" + d.name
	}
	return "http://" + d.name
}

func (c *certificate) expired(now time.Time) bool { return !now.Before(c.notAfter) }

// pagesURL is where the project's site is served without a custom domain:
// the top-level namespace as a subdomain of the Pages host and the rest as
// a path, or the host's root for a project named after it.
func (s *Server) pagesURL(p *project) string {
	top := p.ns
	for top.parent != nil {
		top = top.parent
	}
	host := strings.ToLower(top.path) + "." + s.pagesHost
	rest := strings.TrimPrefix(p.fullPath(), top.path+"/")
	if strings.EqualFold(rest, host) {
		return "http://" + host
	}
	return "http://" + host + "/" + rest
}
