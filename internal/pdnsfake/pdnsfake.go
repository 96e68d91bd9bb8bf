package pdnsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// Record is one record of an RRset.
type Record struct {
	Content  string `json:"content"`
	Disabled bool   `json:"disabled"`
}

// RRset is a set of records of one name and type, as the API has it.
type RRset struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	TTL        uint32   `json:"ttl"`
	ChangeType string   `json:"changetype,omitempty"`
	Records    []Record `json:"records"`
	Comments   []any    `json:"comments"`
}

type zone struct {
	name   string
	serial uint32
	rrsets []RRset
}

// Server is a fake PowerDNS API server on loopback.
type Server struct {
	// URL is the API's base URL (without /api/v1).
	URL string

	srv      *httptest.Server
	apiKey   string
	serverID string
	mu       sync.Mutex
	zones    map[string]*zone
	// Patches counts accepted PATCH requests.
	patches int
}

// Start serves the API for the zones, answering only requests that carry
// apiKey in X-API-Key, under the server id serverID ("localhost" usually).
func Start(apiKey, serverID string, zones ...string) *Server {
	s := &Server{apiKey: apiKey, serverID: serverID, zones: map[string]*zone{}}
	for _, z := range zones {
		name := canonical(z)
		s.zones[name] = &zone{name: name, serial: 1, rrsets: []RRset{
			{Name: name, Type: "SOA", TTL: 3600, Records: []Record{{Content: "ns1." + name + " hostmaster." + name + " 1 10800 3600 604800 3600"}}},
			{Name: name, Type: "NS", TTL: 3600, Records: []Record{{Content: "ns1." + name}}},
		}}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Patches returns how many patches were applied.
func (s *Server) Patches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.patches
}

// Add puts an RRset into its zone as a person would with PowerDNS's own
// tools (no ownership record: no Atrium cluster owns it).
func (s *Server) Add(rr RRset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr.Name = canonical(rr.Name)
	for _, z := range s.zones {
		if rr.Name == z.name || strings.HasSuffix(rr.Name, "."+z.name) {
			z.rrsets = append(z.rrsets, rr)
			z.serial++
			return
		}
	}
}

// RRset returns the RRset of a name and type, if there is one.
func (s *Server) RRset(name, typ string) (RRset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = canonical(name)
	for _, z := range s.zones {
		for _, rr := range z.rrsets {
			if rr.Name == name && rr.Type == typ {
				return rr, true
			}
		}
	}
	return RRset{}, false
}

func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// serve routes /api/v1/servers/{server}/zones[/{zone}].
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != s.apiKey {
		apiError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "servers" || parts[4] != "zones" {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	if parts[3] != s.serverID {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(parts) == 5 && r.Method == http.MethodGet:
		var out []map[string]any
		for _, z := range s.sortedZones() {
			out = append(out, s.zoneJSON(z, false))
		}
		writeJSON(w, http.StatusOK, out)
	case len(parts) == 6:
		z, ok := s.zones[canonical(parts[5])]
		if !ok {
			apiError(w, http.StatusNotFound, "Could not find domain '%s'", parts[5])
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.zoneJSON(z, true))
		case http.MethodPatch:
			s.patch(w, r, z)
		default:
			apiError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	default:
		apiError(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) sortedZones() []*zone {
	out := make([]*zone, 0, len(s.zones))
	for _, z := range s.zones {
		out = append(out, z)
	}
	slices.SortFunc(out, func(a, b *zone) int { return strings.Compare(a.name, b.name) })
	return out
}

func (s *Server) zoneJSON(z *zone, withRRsets bool) map[string]any {
	m := map[string]any{
		"id": z.name, "name": z.name, "kind": "Native", "serial": z.serial,
		"url": "/api/v1/servers/" + s.serverID + "/zones/" + z.name,
	}
	if withRRsets {
		m["rrsets"] = z.rrsets
	}
	return m
}

// patch applies RRset changes: REPLACE sets an RRset's records, DELETE
// removes it. Like PowerDNS, it checks every change before applying any.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, z *zone) {
	var body struct {
		RRsets []RRset `json:"rrsets"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "could not parse body: %v", err)
		return
	}
	for _, rr := range body.RRsets {
		switch {
		case !strings.HasSuffix(rr.Name, "."):
			apiError(w, http.StatusUnprocessableEntity, "RRset %s IN %s: Name is not canonical", rr.Name, rr.Type)
			return
		case rr.Name != z.name && !strings.HasSuffix(rr.Name, "."+z.name):
			apiError(w, http.StatusUnprocessableEntity, "RRset %s IN %s: Name is out of zone", rr.Name, rr.Type)
			return
		case rr.ChangeType != "REPLACE" && rr.ChangeType != "DELETE":
			apiError(w, http.StatusUnprocessableEntity, "changetype not understood")
			return
		case rr.ChangeType == "REPLACE" && rr.Type == "TXT" && slices.ContainsFunc(rr.Records, unquoted):
			// PowerDNS parses TXT content as zone-file strings.
			apiError(w, http.StatusUnprocessableEntity, "RRset %s IN TXT: Data field in DNS should start with quote (\") at position 0", rr.Name)
			return
		case rr.ChangeType == "REPLACE" && rr.Type == "CNAME" && s.hasOtherThan(z, rr.Name, "CNAME"):
			apiError(w, http.StatusUnprocessableEntity, "RRset %s IN CNAME: Conflicts with pre-existing RRset", rr.Name)
			return
		}
	}
	for _, rr := range body.RRsets {
		rr.Name = strings.ToLower(rr.Name)
		z.rrsets = slices.DeleteFunc(z.rrsets, func(o RRset) bool { return o.Name == rr.Name && o.Type == rr.Type })
		if rr.ChangeType == "REPLACE" && len(rr.Records) > 0 {
			rr.ChangeType = ""
			if rr.Comments == nil {
				rr.Comments = []any{}
			}
			z.rrsets = append(z.rrsets, rr)
		}
	}
	z.serial++
	s.patches++
	w.WriteHeader(http.StatusNoContent)
}

// unquoted reports whether a TXT record's content is not a quoted string.
func unquoted(r Record) bool {
	return len(r.Content) < 2 || !strings.HasPrefix(r.Content, `"`) || !strings.HasSuffix(r.Content, `"`)
}

func (s *Server) hasOtherThan(z *zone, name, typ string) bool {
	return slices.ContainsFunc(z.rrsets, func(o RRset) bool { return o.Name == name && o.Type != typ })
}
