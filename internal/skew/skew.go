package skew

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Need is a CRD a binary relies on and the least schema version (the
// CRD's atrium.dev/schema-version annotation) it was built for.
type Need struct {
	CRD     string
	Version int
}

// The CRDs of Atrium at the schema versions of this build's API types.
var (
	Projects        = Need{"projects.tenancy.atrium.dev", tenancyv1.ProjectSchemaVersion}
	ProjectTiers    = Need{"projecttiers.tenancy.atrium.dev", tenancyv1.ProjectTierSchemaVersion}
	GitLabPagesSite = Need{"gitlabpagessites.pages.atrium.dev", pagesv1.GitLabPagesSiteSchemaVersion}
	OpenStackVolume = Need{"openstackvolumes.storage.atrium.dev", storagev1.OpenStackVolumeSchemaVersion}
	HostnameClaims  = Need{"hostnameclaims.fleet.atrium.dev", fleetv1.HostnameClaimSchemaVersion}
	DomainPolicies  = Need{"domainpolicies.fleet.atrium.dev", fleetv1.DomainPolicySchemaVersion}
	MemberClusters  = Need{"memberclusters.fleet.atrium.dev", fleetv1.MemberClusterSchemaVersion}
)

// Version is the schema version a CRD says it serves: its
// atrium.dev/schema-version annotation, 0 when it has none (a CRD from
// before schema versions were written).
func Version(crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	v, ok := crd.Annotations[fleetv1.SchemaVersionAnnotation]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("CRD %s: annotation %s=%q is not a schema version", crd.Name, fleetv1.SchemaVersionAnnotation, v)
	}
	return n, nil
}

// Compare is the verdict on one CRD as the cluster serves it: nil when
// its schema version is at least the need, or an error that names the
// CRD, both versions and what to do.
func Compare(crd *apiextensionsv1.CustomResourceDefinition, need Need, binary string) error {
	have, err := Version(crd)
	if err != nil {
		return err
	}
	if have < need.Version {
		return fmt.Errorf("CRD %s serves schema version %d, older than version %d that %s needs: apply this release's CRDs (config/crd, config/hub for the fleet's) before its binaries", need.CRD, have, need.Version, binary)
	}
	return nil
}

// Check reads each needed CRD (a get by name: RBAC grants get on those
// names only) and returns every one that is missing or older than needed,
// joined in one error; binary names the component in the message.
func Check(ctx context.Context, r client.Reader, binary string, needs ...Need) error {
	_, err := Inspect(ctx, r, binary, needs...)
	return err
}

// Inspect is Check that also says which CRDs are newer than the binary
// was built for: allowed (CRDs only gain fields within a schema version
// line), but worth telling the admin, since the binary is the one to
// upgrade (the reporter puts it in its message).
func Inspect(ctx context.Context, r client.Reader, binary string, needs ...Need) (newer []string, _ error) {
	var errs []string
	for _, n := range needs {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := r.Get(ctx, client.ObjectKey{Name: n.CRD}, crd); err != nil {
			if apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Sprintf("CRD %s is not installed; %s needs it at schema version %d", n.CRD, binary, n.Version))
				continue
			}
			errs = append(errs, fmt.Sprintf("reading CRD %s: %v", n.CRD, err))
			continue
		}
		if err := Compare(crd, n, binary); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if have, _ := Version(crd); have > n.Version {
			newer = append(newer, fmt.Sprintf("CRD %s serves schema version %d, newer than this binary's %d: upgrade the binary", n.CRD, have, n.Version))
		}
	}
	if len(errs) > 0 {
		return newer, fmt.Errorf("version skew: %s", strings.Join(errs, "; "))
	}
	return newer, nil
}

// release matches a release version (v1.4.2, v1.4.2-3-gabcdef): its major
// and minor numbers. A development build ((devel), unknown) does not match.
var release = regexp.MustCompile(`^v(\d+)\.(\d+)\.\d+`)

// Release is the verdict on a member component's release against the
// hub's (its fleet operator's): nil when they are at most one minor
// release apart within one major, or when either is no release (a
// development build cannot be placed); otherwise an error naming both and
// what to do. Binaries of one release line share the fleet API's
// contracts, which the CRD schema versions guard field by field; the
// window says how far apart releases are tested and supported.
func Release(binary, member, hub string) error {
	mMajor, mMinor, ok := majorMinor(member)
	hMajor, hMinor, hok := majorMinor(hub)
	if !ok || !hok {
		return nil
	}
	if mMajor != hMajor || mMinor-hMinor > 1 || hMinor-mMinor > 1 {
		return fmt.Errorf("version skew: %s is %s, the hub %s: a member's components may be at most one minor release from the hub's; upgrade the hub first, then the members, one minor release at a time", binary, member, hub)
	}
	return nil
}

func majorMinor(v string) (major, minor int, ok bool) {
	m := release.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	return major, minor, err1 == nil && err2 == nil
}
