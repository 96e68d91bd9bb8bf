package gitlabfake

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The user, project, member and Pages settings endpoints. Each handler
// holds Server.mu for the whole request: the fake is small and a request
// is then atomic, as a database transaction would make it.

func (c *call) lock() func() {
	c.s.mu.Lock()
	return c.s.mu.Unlock
}

func (c *call) currentUser() {
	defer c.lock()()
	writeJSON(c.w, http.StatusOK, c.s.userView(c.user, c.user))
}

// listUsers lists users; with username=, only that one (GitLab matches it
// exactly, ignoring case).
func (c *call) listUsers() {
	defer c.lock()()
	want, _, _ := c.str("username")
	var out []map[string]any
	for _, u := range sortedUsers(c.s.st.users) {
		if want == "" || strings.EqualFold(u.username, want) {
			out = append(out, c.s.userView(u, c.user))
		}
	}
	writeList(c, out)
}

func (c *call) getUser() {
	id, ok := c.intPath("user_id")
	if !ok {
		return
	}
	defer c.lock()()
	u := c.s.st.users[id]
	if u == nil {
		c.notFound("User")
		return
	}
	writeJSON(c.w, http.StatusOK, c.s.userView(u, c.user))
}

// project finds the :id project, by number or by full path, and answers
// 404 if the user may not see it. Call with Server.mu held.
func (c *call) project() *project {
	id := c.path["id"]
	var p *project
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		p = c.s.st.projects[n]
	} else {
		p = c.s.st.byPath[strings.ToLower(id)]
	}
	if p == nil || !p.canRead(c.user) {
		c.notFound("Project")
		return nil
	}
	return p
}

func (c *call) getProject() {
	defer c.lock()()
	if p := c.project(); p != nil {
		writeJSON(c.w, http.StatusOK, c.s.projectView(p, c.user))
	}
}

// editProject takes pages_access_level, the one project setting the fake
// keeps; editing needs Maintainer, as GitLab's admin_project does.
func (c *call) editProject() {
	defer c.lock()()
	p := c.project()
	if p == nil {
		return
	}
	if !p.canMaintain(c.user) {
		c.forbidden()
		return
	}
	level, given, err := c.str("pages_access_level")
	switch {
	case err != nil:
		apiError(c.w, http.StatusBadRequest, "error", err.Error())
		return
	case !given:
		// Grape's at_least_one_of, with the list cut to what the fake knows.
		apiError(c.w, http.StatusBadRequest, "error", "pages_access_level are missing, at least one parameter must be provided")
		return
	case !slices.Contains(pagesAccessLevels, level):
		apiError(c.w, http.StatusBadRequest, "error", "pages_access_level does not have a valid value")
		return
	}
	p.pagesAccess = level
	writeJSON(c.w, http.StatusOK, c.s.projectView(p, c.user))
}

// member is one row of a member list.
type member struct {
	u *user
	l AccessLevel
}

// members lists a project's direct members or, with inherited, also the
// members of its group and the group's ancestors, each user once at their
// highest role.
func (c *call) members(p *project, inherited bool) []member {
	levels := map[int64]AccessLevel{}
	for id, l := range p.members {
		levels[id] = l
	}
	if inherited {
		for g := p.ns; g != nil; g = g.parent {
			for id, l := range g.members {
				levels[id] = max(levels[id], l)
			}
		}
	}
	var out []member
	for id, l := range levels {
		if l > NoAccess {
			out = append(out, member{c.s.st.users[id], l})
		}
	}
	slices.SortFunc(out, func(a, b member) int { return cmp.Compare(a.u.id, b.u.id) })
	return out
}

func (c *call) listMembers()    { c.memberList(false) }
func (c *call) listAllMembers() { c.memberList(true) }

func (c *call) memberList(inherited bool) {
	defer c.lock()()
	p := c.project()
	if p == nil {
		return
	}
	var out []map[string]any
	for _, m := range c.members(p, inherited) {
		out = append(out, c.s.memberView(m.u, m.l))
	}
	writeList(c, out)
}

func (c *call) getMember()          { c.oneMember(false) }
func (c *call) getInheritedMember() { c.oneMember(true) }

func (c *call) oneMember(inherited bool) {
	id, ok := c.intPath("user_id")
	if !ok {
		return
	}
	defer c.lock()()
	p := c.project()
	if p == nil {
		return
	}
	for _, m := range c.members(p, inherited) {
		if m.u.id == id {
			writeJSON(c.w, http.StatusOK, c.s.memberView(m.u, m.l))
			return
		}
	}
	c.notFound("Member")
}

// getPages is the project's Pages settings. GitLab lets Maintainers read
// them, and answers 404 when Pages is off for the project. The fake
// deploys nothing, so deployments is empty.
func (c *call) getPages() {
	defer c.lock()()
	p := c.project()
	if p == nil {
		return
	}
	if !p.canMaintain(c.user) {
		c.forbidden()
		return
	}
	if p.pagesAccess == "disabled" {
		apiError(c.w, http.StatusNotFound, "message", "404 Not Found")
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"url": c.s.pagesURL(p), "is_unique_domain_enabled": false, "force_https": false,
		"deployments": []any{}, "primary_domain": nil,
	})
}

func sortedUsers(m map[int64]*user) []*user {
	out := make([]*user, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[id])
	}
	return out
}
