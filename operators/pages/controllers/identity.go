package controllers

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Identities maps the users the Kubernetes API server authenticates to
// GitLab usernames. By default a user is the GitLab user of the same name,
// once the configured prefixes and suffixes are taken off ("oidc:jdoe",
// "jdoe@example.org" are "jdoe"); Users names the exceptions, and maps a
// user to "" to refuse them.
type Identities struct {
	// Users maps a Kubernetes username to a GitLab username.
	Users map[string]string `json:"users,omitempty"`
	// StripPrefixes are taken off the front of a username ("oidc:").
	StripPrefixes []string `json:"stripPrefixes,omitempty"`
	// StripSuffixes are taken off the end of a username ("@example.org").
	StripSuffixes []string `json:"stripSuffixes,omitempty"`
}

// gitLabUsername is what GitLab accepts as a username.
var gitLabUsername = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)

// GitLabUser returns the GitLab username of a Kubernetes user, or false
// when the user has none. ServiceAccounts and other system: identities
// never have one.
func (m Identities) GitLabUser(user string) (string, bool) {
	if user == "" || strings.HasPrefix(user, "system:") {
		return "", false
	}
	if u, ok := m.Users[user]; ok {
		return u, u != ""
	}
	name := user
	for _, p := range m.StripPrefixes {
		name = strings.TrimPrefix(name, p)
	}
	for _, s := range m.StripSuffixes {
		name = strings.TrimSuffix(name, s)
	}
	return name, gitLabUsername.MatchString(name)
}

// LoadIdentities reads an identity mapping file (YAML); an empty path is
// the default mapping.
func LoadIdentities(path string) (Identities, error) {
	var m Identities
	if path == "" {
		return m, nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		return m, fmt.Errorf("identity mapping %s: %w", path, err)
	}
	return m, nil
}
