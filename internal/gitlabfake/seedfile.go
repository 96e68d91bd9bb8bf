package gitlabfake

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Seed is a whole starting state, as LoadSeed reads it from YAML; see
// docs/examples/gitlab/seed.yaml.
type Seed struct {
	Users    []SeedUser    `json:"users"`
	Groups   []SeedGroup   `json:"groups"`
	Projects []SeedProject `json:"projects"`
	Domains  []SeedDomain  `json:"domains"`
}

// SeedUser is a user and the tokens it authenticates with.
type SeedUser struct {
	Username string   `json:"username"`
	Name     string   `json:"name,omitempty"`
	Admin    bool     `json:"admin,omitempty"`
	Tokens   []string `json:"tokens,omitempty"`
}

// SeedMember is a membership of a group or project.
type SeedMember struct {
	Username string      `json:"username"`
	Access   AccessLevel `json:"access"`
}

// SeedGroup is a group by full path, with its direct members.
type SeedGroup struct {
	Path    string       `json:"path"`
	Members []SeedMember `json:"members,omitempty"`
}

// SeedProject is a project by full path ("physics/atlas-site"); visibility
// is private unless given, pages_access_level GitLab's default for it.
type SeedProject struct {
	Path             string       `json:"path"`
	Visibility       Visibility   `json:"visibility,omitempty"`
	PagesAccessLevel string       `json:"pages_access_level,omitempty"`
	Members          []SeedMember `json:"members,omitempty"`
}

// SeedDomain is a Pages domain of a project.
type SeedDomain struct {
	Project          string `json:"project"`
	Domain           string `json:"domain"`
	Verified         bool   `json:"verified,omitempty"`
	AutoSSLEnabled   bool   `json:"auto_ssl_enabled,omitempty"`
	VerificationCode string `json:"verification_code,omitempty"`
}

// LoadSeed reads a YAML seed file and applies it; unknown fields are
// errors, so that a typo does not go unnoticed.
func (s *Server) LoadSeed(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var seed Seed
	if err := yaml.UnmarshalStrict(b, &seed); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := s.ApplySeed(seed); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ApplySeed adds a seed's users, groups, projects and domains, in that
// order; it stops at the first error, with what came before it applied.
func (s *Server) ApplySeed(seed Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	for _, su := range seed.Users {
		if _, err := st.addUser(su.Username, su.Name, su.Admin, now); err != nil {
			return err
		}
		for _, t := range su.Tokens {
			if err := st.addToken(su.Username, t); err != nil {
				return err
			}
		}
	}
	for _, sg := range seed.Groups {
		g, err := st.addGroup(sg.Path, now)
		if err != nil {
			return err
		}
		for _, m := range sg.Members {
			u, err := st.userNamed(m.Username)
			if err != nil {
				return fmt.Errorf("group %s: %w", sg.Path, err)
			}
			g.members[u.id] = m.Access
		}
	}
	for _, sp := range seed.Projects {
		i := strings.LastIndex(sp.Path, "/")
		if i < 0 {
			return fmt.Errorf("project %q: want namespace/path", sp.Path)
		}
		v := sp.Visibility
		if v == "" {
			v = Private
		}
		p, err := st.addProject(sp.Path[:i], sp.Path[i+1:], v, now)
		if err != nil {
			return err
		}
		if sp.PagesAccessLevel != "" {
			if !slices.Contains(pagesAccessLevels, sp.PagesAccessLevel) {
				return fmt.Errorf("project %s: pages_access_level %q is not one of %s", sp.Path, sp.PagesAccessLevel, strings.Join(pagesAccessLevels, ", "))
			}
			p.pagesAccess = sp.PagesAccessLevel
		}
		for _, m := range sp.Members {
			u, err := st.userNamed(m.Username)
			if err != nil {
				return fmt.Errorf("project %s: %w", sp.Path, err)
			}
			p.members[u.id] = m.Access
		}
	}
	for _, sd := range seed.Domains {
		p, err := st.project(sd.Project)
		if err != nil {
			return fmt.Errorf("domain %s: %w", sd.Domain, err)
		}
		d, err := st.addDomain(p, sd.Domain)
		if err != nil {
			return err
		}
		d.autoSSL = sd.AutoSSLEnabled
		if sd.VerificationCode != "" {
			d.code = sd.VerificationCode
		}
		if sd.Verified {
			until := now.Add(verificationPeriod)
			d.verified, d.enabledUntil = true, &until
		}
	}
	return nil
}

var accessNames = map[string]AccessLevel{
	"guest": Guest, "reporter": Reporter, "developer": Developer, "maintainer": Maintainer, "owner": Owner,
}

// UnmarshalJSON takes a role by name ("maintainer") or by number (40).
func (l *AccessLevel) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		v, ok := accessNames[strings.ToLower(name)]
		if !ok {
			return fmt.Errorf("access level %q is not guest, reporter, developer, maintainer or owner", name)
		}
		*l = v
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("access level %s is neither a name nor a number", b)
	}
	*l = AccessLevel(n)
	return nil
}

// String names a role as GitLab's UI does.
func (l AccessLevel) String() string {
	for name, v := range accessNames {
		if v == l {
			return name
		}
	}
	return strconv.Itoa(int(l))
}
