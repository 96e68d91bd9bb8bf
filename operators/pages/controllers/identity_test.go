package controllers

import "testing"

func TestGitLabUser(t *testing.T) {
	m := Identities{
		StripPrefixes: []string{"oidc:"}, StripSuffixes: []string{"@example.org"},
		Users: map[string]string{"j.doe@partner.example": "jdoe", "shared": ""},
	}
	for user, want := range map[string]string{
		"alice": "alice", "oidc:bob": "bob", "carol@example.org": "carol", "j.doe@partner.example": "jdoe",
		"shared": "", "system:serviceaccount:x:y": "", "system:admin": "", "": "", "eve@elsewhere.example": "",
		"has space": "",
	} {
		got, ok := m.GitLabUser(user)
		if ok != (want != "") || got != want && ok {
			t.Errorf("GitLabUser(%q) = %q, %v; want %q", user, got, ok, want)
		}
	}
}
