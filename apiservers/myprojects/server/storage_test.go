package server

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
)

func project(name, owner string, labels map[string]string, admins, members, viewers []tenancyv1.Subject) *tenancyv1.Project {
	return &tenancyv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       tenancyv1.ProjectSpec{Owner: owner, Admins: admins, Members: members, Viewers: viewers},
	}
}

func userSubject(name string) []tenancyv1.Subject {
	return []tenancyv1.Subject{{Kind: tenancyv1.UserSubject, Name: name}}
}

func groupSubject(name string) []tenancyv1.Subject {
	return []tenancyv1.Subject{{Kind: tenancyv1.GroupSubject, Name: name}}
}

func TestRoleOf(t *testing.T) {
	p := project("lab", "alice", nil, userSubject("bob"), groupSubject("devs"), append(userSubject("carol"), groupSubject("auditors")...))
	p.Spec.HandOverTo = "frank"
	for _, tc := range []struct {
		name   string
		user   user.Info
		role   accessv1.Role
		member bool
	}{
		{"owner", &user.DefaultInfo{Name: "alice"}, accessv1.RoleOwner, true},
		{"admin by name", &user.DefaultInfo{Name: "bob"}, accessv1.RoleAdmin, true},
		{"member by group", &user.DefaultInfo{Name: "dan", Groups: []string{"system:authenticated", "devs"}}, accessv1.RoleMember, true},
		{"viewer by name", &user.DefaultInfo{Name: "carol"}, accessv1.RoleViewer, true},
		{"viewer by group", &user.DefaultInfo{Name: "erin", Groups: []string{"auditors"}}, accessv1.RoleViewer, true},
		// The highest role wins: a viewer who is also in the members' group.
		{"highest role", &user.DefaultInfo{Name: "carol", Groups: []string{"devs"}}, accessv1.RoleMember, true},
		{"stranger", &user.DefaultInfo{Name: "mallory", Groups: []string{"system:authenticated"}}, "", false},
		// The user it is offered to sees it, until they accept or decline.
		{"offered", &user.DefaultInfo{Name: "frank"}, accessv1.RoleOffered, true},
		{"group named like the user it is offered to", &user.DefaultInfo{Name: "mallory", Groups: []string{"frank"}}, "", false},
		// A user named like a group, or in a group named like a user, is
		// neither.
		{"user named like a group", &user.DefaultInfo{Name: "devs"}, "", false},
		{"group named like a user", &user.DefaultInfo{Name: "mallory", Groups: []string{"bob", "alice"}}, "", false},
		{"no name", &user.DefaultInfo{Groups: []string{"devs"}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role, ok := RoleOf(p, tc.user)
			if role != tc.role || ok != tc.member {
				t.Fatalf("RoleOf = %q, %v; want %q, %v", role, ok, tc.role, tc.member)
			}
		})
	}
}

func TestStorageAnswersEachUserWithTheirOwn(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(
		project("alices-site", "alice", map[string]string{"team": "web"}, nil, nil, userSubject("bob")),
		project("alices-lab", "alice", nil, nil, nil, nil),
		project("bobs-site", "bob", map[string]string{"team": "web"}, nil, nil, nil),
		project("secret", "carol", nil, nil, nil, nil),
	).Build()
	s := &Storage{Projects: c}
	as := func(name string, groups ...string) context.Context {
		return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: name, Groups: groups})
	}
	list := func(ctx context.Context, opts *metainternalversion.ListOptions) []string {
		t.Helper()
		obj, err := s.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range obj.(*accessv1.MyProjectList).Items {
			names = append(names, p.Name+"/"+string(p.Role))
		}
		return names
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		opts *metainternalversion.ListOptions
		want []string
	}{
		{"owner sees both, sorted", as("alice"), nil, []string{"alices-lab/Owner", "alices-site/Owner"}},
		{"viewer and owner", as("bob"), nil, []string{"alices-site/Viewer", "bobs-site/Owner"}},
		{"stranger sees nothing", as("mallory", "system:authenticated"), nil, nil},
		{"label selector", as("alice"), &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"team": "web"})}, []string{"alices-site/Owner"}},
		{"name selector", as("bob"), &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "bobs-site")}, []string{"bobs-site/Owner"}},
		// Naming someone else's Project does not reveal it.
		{"another's name", as("bob"), &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "secret")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := list(tc.ctx, tc.opts)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}

	if _, err := s.Get(as("bob"), "alices-site", nil); err != nil {
		t.Fatalf("viewer getting the Project: %v", err)
	}
	// Another's Project and a Project that does not exist look the same.
	for _, name := range []string{"secret", "no-such-project"} {
		if _, err := s.Get(as("bob"), name, nil); !apierrors.IsNotFound(err) {
			t.Fatalf("get %s as a stranger: %v, want NotFound", name, err)
		}
	}
	if _, err := s.List(as("alice"), &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.owner", "carol")}); !apierrors.IsBadRequest(err) {
		t.Fatalf("an unsupported field selector: %v, want BadRequest", err)
	}
	if _, err := s.List(context.Background(), nil); !apierrors.IsUnauthorized(err) {
		t.Fatalf("a request without a user: %v, want Unauthorized", err)
	}
	table, err := s.ConvertToTable(context.Background(), mustList(t, s, as("alice")), nil)
	if err != nil || len(table.Rows) != 2 || table.Rows[0].Cells[1] != "Owner" {
		t.Fatalf("table: %+v, %v", table, err)
	}
}

func mustList(t *testing.T, s *Storage, ctx context.Context) *accessv1.MyProjectList {
	t.Helper()
	obj, err := s.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*accessv1.MyProjectList)
}
