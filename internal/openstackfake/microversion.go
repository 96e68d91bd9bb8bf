package openstackfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// microversion is Cinder's "3.x".
type microversion struct{ major, minor int }

func (m microversion) String() string { return fmt.Sprintf("%d.%d", m.major, m.minor) }

func (m microversion) atLeast(major, minor int) bool {
	return m.major > major || (m.major == major && m.minor >= minor)
}

func parseMicroversion(s string) (microversion, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		return microversion{}, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	return microversion{x, y}, err1 == nil && err2 == nil
}

// requestedVersion reads OpenStack-API-Version ("volume 3.42" or
// "volume latest"); without it Cinder serves the minimum. It writes 406
// for a version the cloud does not serve and 400 for a malformed one, and
// echoes the version it serves (with Vary) as Cinder does.
func (s *Server) requestedVersion(w http.ResponseWriter, r *http.Request) (microversion, bool) {
	mv := s.minVersion
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		svc, ver, _ := strings.Cut(strings.TrimSpace(h), " ")
		if svc != "volume" {
			continue
		}
		if ver == "latest" {
			mv = s.maxVersion
			continue
		}
		v, ok := parseMicroversion(ver)
		if !ok {
			cinderError(w, http.StatusBadRequest, "badRequest", "API Version String "+ver+" is of invalid format. Must be of format MajorNum.MinorNum.")
			return mv, false
		}
		if !v.atLeast(s.minVersion.major, s.minVersion.minor) || !s.maxVersion.atLeast(v.major, v.minor) {
			cinderError(w, http.StatusNotAcceptable, "notAcceptable", "Version "+ver+" is not supported by the API. Minimum is "+s.minVersion.String()+" and maximum is "+s.maxVersion.String()+".")
			return mv, false
		}
		mv = v
	}
	w.Header().Set("OpenStack-API-Version", "volume "+mv.String())
	w.Header().Set("Vary", "OpenStack-API-Version")
	return mv, true
}

// versions is Cinder's v3 version document: gophercloud's
// utils.GetSupportedMicroversions reads min_version and version from it.
func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []map[string]any{{
		"id":          "v3.0",
		"status":      "CURRENT",
		"version":     s.maxVersion.String(),
		"min_version": s.minVersion.String(),
		"updated":     "2023-01-01T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": s.URL + "/volume/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}},
	}}})
}

// cinderError is Cinder's fault body: {"<kind>": {"code", "message"}}.
func cinderError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, map[string]any{kind: map[string]any{"code": status, "message": msg}})
}
