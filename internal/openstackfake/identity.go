package openstackfake

import (
	"encoding/json"
	"net/http"
	"time"
)

// tokenRequest is the part of Keystone's POST /v3/auth/tokens body the
// fake reads: the password and application_credential methods.
type tokenRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					Password string `json:"password"`
				} `json:"user"`
			} `json:"password"`
			ApplicationCredential *struct {
				ID     string `json:"id"`
				Secret string `json:"secret"`
			} `json:"application_credential"`
		} `json:"identity"`
	} `json:"auth"`
}

// issueToken authenticates and answers 201 with the token in
// X-Subject-Token, Keystone's way. Any failure is the same 401, so a
// caller cannot tell a wrong secret from an unknown credential.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		keystoneError(w, http.StatusBadRequest, "Bad Request", "Malformed request body.")
		return
	}
	id := req.Auth.Identity
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *user
	var projectID, method string
	switch {
	case has(id.Methods, "application_credential") && id.ApplicationCredential != nil:
		method = "application_credential"
		c, ok := s.state.appCreds[id.ApplicationCredential.ID]
		if ok && c.secret == id.ApplicationCredential.Secret {
			u, projectID = s.state.users[c.userID], c.projectID
		}
	case has(id.Methods, "password") && id.Password != nil:
		method = "password"
		pw := id.Password.User
		for _, cand := range s.state.users {
			if (cand.id == pw.ID || (pw.ID == "" && cand.name == pw.Name)) && cand.password != "" && cand.password == pw.Password {
				u, projectID = cand, cand.projectID
			}
		}
	}
	if u == nil {
		keystoneError(w, http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
		return
	}
	tokID := "gAAAAA" + newUUID()
	issued := now()
	t := &token{userID: u.id, projectID: projectID, methods: []string{method}, expires: issued.Add(s.tokenTTL)}
	s.state.tokens[tokID] = t
	p := s.state.projects[projectID]
	w.Header().Set("X-Subject-Token", tokID)
	writeJSON(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    t.methods,
		"expires_at": t.expires.Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  issued.Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": u.id, "name": u.name, "domain": map[string]string{"id": domainID, "name": "Default"}},
		"project":    map[string]any{"id": p.id, "name": p.name, "domain": map[string]string{"id": domainID, "name": "Default"}},
		"roles":      []map[string]string{{"id": "member", "name": "member"}},
		"catalog":    s.catalog(projectID),
	}})
}

// catalog lists Cinder under both names devstack registers, so a caller
// looking up either (gophercloud asks for block-storage and its aliases)
// finds it, plus Keystone itself.
func (s *Server) catalog(projectID string) []map[string]any {
	entry := func(typ, name, url string) map[string]any {
		return map[string]any{"id": newUUID(), "type": typ, "name": name, "endpoints": []map[string]string{{
			"id": newUUID(), "interface": "public", "region": s.region, "region_id": s.region, "url": url,
		}}}
	}
	return []map[string]any{
		entry("identity", "keystone", s.IdentityURL),
		entry("block-storage", "cinder", s.VolumeEndpoint(projectID)),
		entry("volumev3", "cinderv3", s.VolumeEndpoint(projectID)),
	}
}

// authenticate returns the token for X-Auth-Token, or writes the 401
// keystonemiddleware does for an unknown or expired one (a token is
// valid strictly before its expires_at), with WWW-Authenticate naming
// Keystone. Called with mu held.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *token {
	t, ok := s.state.tokens[r.Header.Get("X-Auth-Token")]
	if !ok || !time.Now().Before(t.expires) {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+s.URL+`/identity"`)
		keystoneError(w, http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
		return nil
	}
	return t
}

// keystoneError is Keystone's error body; Cinder's 401s (from keystonemiddleware) look the same.
func keystoneError(w http.ResponseWriter, status int, title, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": msg}})
}

func has(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
