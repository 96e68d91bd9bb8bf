package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// PeopleOfAProjectInput names a Project's owner, a member and a viewer.
type PeopleOfAProjectInput struct {
	Project               string
	Owner, Member, Viewer string
	MemberGroup, Stranger string
	Timeout               time.Duration
}

// PeopleOfAProject: what docs/projects.md says each of a Project's people
// may do holds, and nothing more. A member (named by a group) works in the
// namespace but cannot grant access or delete the Project; a viewer reads
// but changes nothing and sees no Secrets; both follow the Project by name
// and neither lists other tenants' Projects; a stranger sees nothing.
func PeopleOfAProject(ctx context.Context, t *testing.T, in PeopleOfAProjectInput) {
	t.Helper()
	as := func(user string, groups ...string) client.Client {
		c, err := f.env.ClientAs(user, groups...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	owner, member, viewer, stranger := as(in.Owner), as(in.Member, in.MemberGroup), as(in.Viewer), as(in.Stranger)
	p := &tenancyv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: in.Project},
		Spec: tenancyv1.ProjectSpec{
			Members: []tenancyv1.Subject{{Kind: tenancyv1.GroupSubject, Name: in.MemberGroup}},
			Viewers: []tenancyv1.Subject{{Kind: tenancyv1.UserSubject, Name: in.Viewer}},
		},
	}
	if err := owner.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	ns := in.Project
	cm := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	}
	// The member works in the namespace once the RoleBindings are there.
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return member.Create(ctx, cm("from-member")) }); err != nil {
		t.Fatalf("member cannot work in the namespace: %v", err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "sneaky", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: in.Stranger}},
	}
	refused := func(who string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: want Forbidden, got %v", who, err)
		}
	}
	refused("member granting admin", member.Create(ctx, binding))
	refused("member deleting the Project", member.Delete(ctx, p.DeepCopy()))

	if err := viewer.Get(ctx, client.ObjectKeyFromObject(cm("from-member")), &corev1.ConfigMap{}); err != nil {
		t.Errorf("viewer cannot read a ConfigMap: %v", err)
	}
	refused("viewer creating a ConfigMap", viewer.Create(ctx, cm("from-viewer")))
	refused("viewer listing Secrets", viewer.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)))
	refused("viewer deleting the Project", viewer.Delete(ctx, p.DeepCopy()))

	for who, c := range map[string]client.Client{"member": member, "viewer": viewer} {
		if err := c.Get(ctx, client.ObjectKey{Name: in.Project}, &tenancyv1.Project{}); err != nil {
			t.Errorf("%s cannot get the Project by name: %v", who, err)
		}
		if err := c.List(ctx, &tenancyv1.ProjectList{}, client.MatchingFields{"metadata.name": in.Project}); err != nil {
			t.Errorf("%s cannot list the Project by name: %v", who, err)
		}
		refused(who+" listing every Project", c.List(ctx, &tenancyv1.ProjectList{}))
	}
	// `kubectl get myprojects`: each sees the Project with their role; the
	// stranger does not see it at all.
	for who, want := range map[string]accessv1.Role{in.Owner: accessv1.RoleOwner, in.Member: accessv1.RoleMember, in.Viewer: accessv1.RoleViewer, in.Stranger: ""} {
		c := map[string]client.Client{in.Owner: owner, in.Member: member, in.Viewer: viewer, in.Stranger: stranger}[who]
		mine := &accessv1.MyProjectList{}
		if err := c.List(ctx, mine); err != nil {
			t.Fatalf("%s listing their Projects: %v", who, err)
		}
		var got accessv1.Role
		for _, m := range mine.Items {
			if m.Name == in.Project {
				got = m.Role
			}
		}
		if got != want {
			t.Errorf("%s sees Project %s as %q, want %q (%+v)", who, in.Project, got, want, mine.Items)
		}
	}
	refused("stranger getting the Project", stranger.Get(ctx, client.ObjectKey{Name: in.Project}, &tenancyv1.Project{}))
	refused("stranger reading the namespace", stranger.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns)))

	gvr := tenancyv1.GroupVersion.WithResource("projects")
	if err := testenv.KubectlDelete(ctx, f.env.UserConfig(in.Owner), gvr, "", in.Project); err != nil {
		t.Fatal(err)
	}
}

func TestPeopleOfAProject(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	PeopleOfAProject(ctx, t, PeopleOfAProjectInput{
		Project: "team-space", Owner: "olga", Member: "milo", MemberGroup: "team-space-devs", Viewer: "vera", Stranger: "sam",
		Timeout: time.Minute,
	})
}

// TestMyProjectsCannotBeAskedWithAForgedIdentity: a tenant who reaches the
// myprojects API server directly (its pods are in the cluster network) and
// names another user in the front proxy's headers is refused: the server
// believes those headers only from the API server's front proxy client
// certificate.
func TestMyProjectsCannotBeAskedWithAForgedIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	owner, err := f.env.ClientAs("fiona")
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "fionas-secret-plans"}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, "fionas-secret-plans", time.Minute)
	for _, p := range f.member.Deployment(components.MyProjects).Pods() {
		url := fmt.Sprintf("https://127.0.0.1:%d/apis/access.tenancy.atrium.dev/v1alpha1/myprojects", p.Port(9445))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Remote-User", "fiona")
		req.Header.Set("X-Remote-Group", "system:authenticated")
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the attacker does not care who serves
		}}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("replica %s answered a forged identity with %d: %s", p.Name, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "fionas-secret-plans") {
			t.Errorf("replica %s gave away fiona's Project to a forged identity", p.Name)
		}
	}
}

// TestMyProjectsIsExplained: the aggregated API publishes its schema with
// its kind through the API server, which is what `kubectl explain
// myprojects` reads.
func TestMyProjectsIsExplained(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	dc, err := discovery.NewDiscoveryClientForConfig(f.env.UserConfig("xavier"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dc.RESTClient().Get().AbsPath("/openapi/v3/apis/access.tenancy.atrium.dev/v1alpha1").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				GVK []map[string]string `json:"x-kubernetes-group-version-kind"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s, ok := doc.Components.Schemas[accessv1.MyProject{}.OpenAPIModelName()]
	if !ok || len(s.GVK) != 1 || s.GVK[0]["kind"] != "MyProject" || s.GVK[0]["group"] != accessv1.GroupVersion.Group {
		t.Fatalf("MyProject's schema: %+v (present: %v)", s, ok)
	}
}
