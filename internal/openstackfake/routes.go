package openstackfake

import (
	"net/http"
	"strings"
)

// Route names, as Count, FailNext, RateLimitNext and LoseResponseNext
// take them. Ids in the path are {id}; Cinder routes drop the
// /volume/v3/{project_id} prefix.
const (
	RouteTokens   = "POST /auth/tokens"
	RouteVersions = "GET /versions"

	RouteCreateVolume        = "POST /volumes"
	RouteListVolumes         = "GET /volumes/detail"
	RouteListVolumesSummary  = "GET /volumes"
	RouteGetVolume           = "GET /volumes/{id}"
	RouteUpdateVolume        = "PUT /volumes/{id}"
	RouteVolumeAction        = "POST /volumes/{id}/action"
	RouteDeleteVolume        = "DELETE /volumes/{id}"
	RouteGetVolumeMetadata   = "GET /volumes/{id}/metadata"
	RouteSetVolumeMetadata   = "PUT /volumes/{id}/metadata"  // replaces
	RouteMergeVolumeMetadata = "POST /volumes/{id}/metadata" // merges

	RouteCreateSnapshot        = "POST /snapshots"
	RouteListSnapshots         = "GET /snapshots/detail"
	RouteListSnapshotsSummary  = "GET /snapshots"
	RouteGetSnapshot           = "GET /snapshots/{id}"
	RouteUpdateSnapshot        = "PUT /snapshots/{id}"
	RouteDeleteSnapshot        = "DELETE /snapshots/{id}"
	RouteGetSnapshotMetadata   = "GET /snapshots/{id}/metadata"
	RouteSetSnapshotMetadata   = "PUT /snapshots/{id}/metadata"  // replaces
	RouteMergeSnapshotMetadata = "POST /snapshots/{id}/metadata" // merges

	RouteGetQuota = "GET /os-quota-sets/{id}"
)

// cinderPath splits /volume/v3/{project_id}/rest into its parts; ok is
// false for anything else.
func cinderPath(p string) (projectID string, rest []string, ok bool) {
	tail, found := strings.CutPrefix(p, "/volume/v3/")
	if !found {
		return "", nil, false
	}
	parts := strings.Split(strings.Trim(tail, "/"), "/")
	if parts[0] == "" {
		return "", nil, false
	}
	if len(parts) == 1 {
		return parts[0], nil, true
	}
	return parts[0], parts[1:], true
}

// route names a request for counting, faults and the log.
func route(r *http.Request) string {
	p := r.URL.Path
	if strings.HasPrefix(p, "/identity/") {
		return r.Method + " " + strings.TrimPrefix(p, "/identity/v3")
	}
	_, rest, ok := cinderPath(p)
	if !ok || len(rest) == 0 {
		if strings.HasPrefix(p, "/volume") && r.Method == http.MethodGet {
			return RouteVersions
		}
		return r.Method + " " + p
	}
	name := make([]string, len(rest))
	for i, seg := range rest {
		if i%2 == 1 && seg != "detail" && seg != "action" && seg != "metadata" {
			seg = "{id}"
		}
		name[i] = seg
	}
	return r.Method + " /" + strings.Join(name, "/")
}

// dispatch routes an already counted and fault-checked request.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/identity/v3/auth/tokens" && r.Method == http.MethodPost {
		s.issueToken(w, r)
		return
	}
	if p == "/volume/v3" || p == "/volume/v3/" {
		s.versions(w, r)
		return
	}
	projectID, rest, ok := cinderPath(p)
	if !ok {
		cinderError(w, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
		return
	}
	if len(rest) == 0 && r.Method == http.MethodGet {
		s.versions(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.authenticate(w, r)
	if t == nil {
		return
	}
	mv, ok := s.requestedVersion(w, r)
	if !ok {
		return
	}
	if t.projectID != projectID {
		// keystonemiddleware lets the token through; Cinder's policy then
		// refuses a project the token is not scoped to.
		cinderError(w, http.StatusForbidden, "forbidden", "Policy doesn't allow this operation to be performed.")
		return
	}
	c := &call{s: s, w: w, r: r, mv: mv, tok: t}
	m := r.Method
	switch {
	case len(rest) == 1 && rest[0] == "volumes" && m == http.MethodPost:
		c.createVolume()
	case len(rest) == 1 && rest[0] == "volumes" && m == http.MethodGet:
		c.listVolumes(false)
	case len(rest) == 2 && rest[0] == "volumes" && rest[1] == "detail" && m == http.MethodGet:
		c.listVolumes(true)
	case len(rest) == 2 && rest[0] == "volumes":
		switch m {
		case http.MethodGet:
			c.getVolume(rest[1])
		case http.MethodPut:
			c.updateVolume(rest[1])
		case http.MethodDelete:
			c.deleteVolume(rest[1])
		default:
			c.notAllowed()
		}
	case len(rest) == 3 && rest[0] == "volumes" && rest[2] == "action" && m == http.MethodPost:
		c.volumeAction(rest[1])
	case len(rest) == 3 && rest[0] == "volumes" && rest[2] == "metadata":
		c.volumeMetadata(rest[1])
	case len(rest) == 1 && rest[0] == "snapshots" && m == http.MethodPost:
		c.createSnapshot()
	case len(rest) == 1 && rest[0] == "snapshots" && m == http.MethodGet:
		c.listSnapshots(false)
	case len(rest) == 2 && rest[0] == "snapshots" && rest[1] == "detail" && m == http.MethodGet:
		c.listSnapshots(true)
	case len(rest) == 2 && rest[0] == "snapshots":
		switch m {
		case http.MethodGet:
			c.getSnapshot(rest[1])
		case http.MethodPut:
			c.updateSnapshot(rest[1])
		case http.MethodDelete:
			c.deleteSnapshot(rest[1])
		default:
			c.notAllowed()
		}
	case len(rest) == 3 && rest[0] == "snapshots" && rest[2] == "metadata":
		c.snapshotMetadata(rest[1])
	case len(rest) == 2 && rest[0] == "os-quota-sets" && m == http.MethodGet:
		c.getQuota(rest[1])
	default:
		cinderError(w, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	}
}

// call is one authenticated Cinder request, handled with Server.mu held.
type call struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	mv  microversion
	tok *token
}

func (c *call) notAllowed() {
	cinderError(c.w, http.StatusMethodNotAllowed, "methodNotAllowed", "The method is not allowed for the requested resource.")
}
