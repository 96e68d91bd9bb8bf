package skew

import (
	"context"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/atrium-dev/atrium/internal/manager"
)

func crd(name string, annotations map[string]string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}
}

// TestCheckRefusesAnOlderCRD: a CRD older than the binary needs, one
// without a schema version and one not installed each stop the binary
// with a message that names the CRD, both versions and what to do; a CRD
// as new or newer passes.
func TestCheckRefusesAnOlderCRD(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(
		crd("memberclusters.fleet.atrium.dev", map[string]string{"atrium.dev/schema-version": "1"}),
		crd("projects.tenancy.atrium.dev", map[string]string{"atrium.dev/schema-version": "3"}),
		crd("projecttiers.tenancy.atrium.dev", nil),
		crd("bad.atrium.dev", map[string]string{"atrium.dev/schema-version": "two"}),
	).Build()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		need Need
		want string // empty: passes
	}{
		{"older", Need{"memberclusters.fleet.atrium.dev", 2}, "CRD memberclusters.fleet.atrium.dev serves schema version 1, older than version 2 that operators/x needs: apply this release's CRDs"},
		{"same", Need{"memberclusters.fleet.atrium.dev", 1}, ""},
		{"newer", Need{"projects.tenancy.atrium.dev", 1}, ""},
		{"unversioned", Need{"projecttiers.tenancy.atrium.dev", 1}, "serves schema version 0, older than version 1"},
		{"missing", Need{"openstackvolumes.storage.atrium.dev", 1}, "CRD openstackvolumes.storage.atrium.dev is not installed; operators/x needs it at schema version 1"},
		{"garbled", Need{"bad.atrium.dev", 1}, `annotation atrium.dev/schema-version="two" is not a schema version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(ctx, c, "operators/x", tc.need)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "version skew: ") {
				t.Fatalf("got %v, want …%s…", err, tc.want)
			}
		})
	}
}

// TestThisBuildsCRDsMeetItsNeeds: the CRDs that config/ ships carry the
// schema versions of the API types they were generated from.
func TestThisBuildsCRDsMeetItsNeeds(t *testing.T) {
	needs := map[string]Need{}
	for _, n := range []Need{Projects, ProjectTiers, GitLabPagesSite, OpenStackVolume, HostnameClaims, DomainPolicies, MemberClusters} {
		needs[n.CRD] = n
	}
	crds, err := shippedCRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crds {
		n, ok := needs[c.Name]
		if !ok {
			continue
		}
		delete(needs, c.Name)
		if v, err := Version(c); err != nil || v != n.Version {
			t.Errorf("CRD %s: schema version %d (%v), the API types say %d: run make manifests", c.Name, v, err, n.Version)
		}
	}
	for name := range needs {
		t.Errorf("no CRD %s in config/crd", name)
	}
}

// TestInspectNotesANewerCRD: a CRD newer than the binary passes, and is
// noted for the component's report.
func TestInspectNotesANewerCRD(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(
		crd("projects.tenancy.atrium.dev", map[string]string{"atrium.dev/schema-version": "3"}),
	).Build()
	newer, err := Inspect(context.Background(), c, "operators/x", Need{"projects.tenancy.atrium.dev", 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(newer) != 1 || !strings.Contains(newer[0], "serves schema version 3, newer than this binary's 1: upgrade the binary") {
		t.Fatalf("notes %q", newer)
	}
}

func TestRelease(t *testing.T) {
	for _, tc := range []struct {
		member, hub string
		ok          bool
	}{
		{"v0.4.0", "v0.4.0", true},
		{"v0.4.2", "v0.5.0", true},
		{"v0.6.0-3-gabcdef0-dirty", "v0.5.1", true},
		{"v0.3.9", "v0.5.0", false},
		{"v0.7.0", "v0.5.0", false},
		{"v1.5.0", "v0.5.0", false},
		{"(devel)", "v0.5.0", true},
		{"v0.5.0", "unknown", true},
		{"", "", true},
	} {
		err := Release("operators/dns", tc.member, tc.hub)
		if (err == nil) != tc.ok {
			t.Errorf("Release(%q, %q) = %v, want ok=%v", tc.member, tc.hub, err, tc.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "version skew: operators/dns is "+tc.member+", the hub "+tc.hub) {
			t.Errorf("message %q", err)
		}
	}
}
