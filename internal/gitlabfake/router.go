package gitlabfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const apiPrefix = "/api/v4"

type route struct {
	method   string
	template string // also the name requests are counted under
	handle   func(*call)
}

// routes in match order: a literal segment ("all") must come before a
// parameter in the same place (":user_id").
var routes = []route{
	{"GET", "/user", (*call).currentUser},
	{"GET", "/users", (*call).listUsers},
	{"GET", "/users/:user_id", (*call).getUser},
	{"GET", "/projects/:id", (*call).getProject},
	{"PUT", "/projects/:id", (*call).editProject},
	{"GET", "/projects/:id/members", (*call).listMembers},
	{"GET", "/projects/:id/members/all", (*call).listAllMembers},
	{"GET", "/projects/:id/members/all/:user_id", (*call).getInheritedMember},
	{"GET", "/projects/:id/members/:user_id", (*call).getMember},
	{"GET", "/projects/:id/pages", (*call).getPages},
	{"GET", "/pages/domains", (*call).listAllDomains},
	{"GET", "/projects/:id/pages/domains", (*call).listDomains},
	{"POST", "/projects/:id/pages/domains", (*call).createDomain},
	{"GET", "/projects/:id/pages/domains/:domain", (*call).getDomain},
	{"PUT", "/projects/:id/pages/domains/:domain", (*call).updateDomain},
	{"DELETE", "/projects/:id/pages/domains/:domain", (*call).deleteDomain},
	{"PUT", "/projects/:id/pages/domains/:domain/verify", (*call).verifyDomain},
}

// match finds a request's route. Paths are split before they are
// unescaped, so that a project path ("alice%2Fhomepage") is one segment,
// as it is to GitLab. allowed says the path exists under another method.
func match(r *http.Request) (rt *route, params map[string]string, allowed bool) {
	p, ok := strings.CutPrefix(r.URL.EscapedPath(), apiPrefix)
	if !ok {
		return nil, nil, false
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i := range routes {
		want := strings.Split(strings.Trim(routes[i].template, "/"), "/")
		params, ok := matchSegments(want, segs)
		if !ok {
			continue
		}
		if routes[i].method != r.Method {
			allowed = true
			continue
		}
		return &routes[i], params, false
	}
	return nil, nil, allowed
}

func matchSegments(want, got []string) (map[string]string, bool) {
	if len(want) != len(got) {
		return nil, false
	}
	params := map[string]string{}
	for i, w := range want {
		v, err := url.PathUnescape(got[i])
		if err != nil || v == "" {
			return nil, false
		}
		if name, ok := strings.CutPrefix(w, ":"); ok {
			params[name] = v
		} else if w != v {
			return nil, false
		}
	}
	return params, true
}

// call is one request on its way through an endpoint.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	path   map[string]string
	params map[string]any // query, form and JSON body merged, as Grape has them
	user   *user
}

// parseParams merges the query string with a JSON or form body; the client
// sends JSON, curl in a shell script sends a form.
func (c *call) parseParams() error {
	c.params = map[string]any{}
	for k, v := range c.r.URL.Query() {
		c.params[k] = v[len(v)-1]
	}
	if c.r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 1<<20))
	if err != nil || len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("body is not valid JSON")
		}
		for k, v := range m {
			c.params[k] = v
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("body is not a valid form")
		}
		for k, v := range q {
			c.params[k] = v[len(v)-1]
		}
	}
	return nil
}

// str is a string parameter; given says whether it was sent at all.
func (c *call) str(name string) (v string, given bool, err error) {
	raw, ok := c.params[name]
	if !ok || raw == nil {
		return "", false, nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", true, fmt.Errorf("%s is invalid", name)
	}
	return s, true, nil
}

// boolean coerces a parameter like Grape's Boolean type does.
func (c *call) boolean(name string) (v, given bool, err error) {
	raw, ok := c.params[name]
	if !ok || raw == nil {
		return false, false, nil
	}
	switch b := raw.(type) {
	case bool:
		return b, true, nil
	case string:
		switch strings.ToLower(b) {
		case "true", "1", "yes", "t", "y":
			return true, true, nil
		case "false", "0", "no", "f", "n":
			return false, true, nil
		}
	}
	return false, true, fmt.Errorf("%s is invalid", name)
}

// intPath is an integer path parameter (Grape's "type: Integer").
func (c *call) intPath(name string) (int64, bool) {
	n, err := strconv.ParseInt(c.path[name], 10, 64)
	if err != nil {
		apiError(c.w, http.StatusBadRequest, "error", name+" is invalid")
		return 0, false
	}
	return n, true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers the way GitLab's API does: {"message": ...} from the
// application, {"error": ...} from Grape's parameter validation and routing.
func apiError(w http.ResponseWriter, code int, key string, v any) {
	writeJSON(w, code, map[string]any{key: v})
}

func (c *call) forbidden() { apiError(c.w, http.StatusForbidden, "message", "403 Forbidden") }

func (c *call) notFound(what string) {
	apiError(c.w, http.StatusNotFound, "message", "404 "+what+" Not Found")
}

// invalid answers a model validation failure: 400 with the messages per field.
func (c *call) invalid(errs map[string][]string) {
	apiError(c.w, http.StatusBadRequest, "message", errs)
}
