package admission

import (
	"context"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Authorizer answers whether a user may do something, the way the API
// server would: RBAC stays the single place where permissions are granted.
type Authorizer interface {
	Allowed(ctx context.Context, user authenticationv1.UserInfo, attrs authorizationv1.ResourceAttributes) (bool, error)
}

// SubjectAccessReviews asks the API server with a SubjectAccessReview.
type SubjectAccessReviews struct {
	Client client.Client
}

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

func (a SubjectAccessReviews) Allowed(ctx context.Context, user authenticationv1.UserInfo, attrs authorizationv1.ResourceAttributes) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user.Username,
		Groups:             user.Groups,
		UID:                user.UID,
		ResourceAttributes: &attrs,
	}}
	if len(user.Extra) > 0 {
		sar.Spec.Extra = map[string]authorizationv1.ExtraValue{}
		for k, v := range user.Extra {
			sar.Spec.Extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	if err := a.Client.Create(ctx, sar); err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

// Verbs and resources Atrium's admission asks RBAC about.
var (
	// administerProjects is held by platform admins: they may create Projects
	// for others, hand them over, and are not bound by per-user limits.
	administerProjects = authorizationv1.ResourceAttributes{Group: "tenancy.atrium.dev", Resource: "projects", Verb: "administer"}
)

// useTier asks whether a user may put Projects on a tier that is not open to
// self-service.
func useTier(name string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Group: "tenancy.atrium.dev", Resource: "projecttiers", Verb: "use", Name: name}
}

// OwnerRole is the ClusterRole the projects operator binds a Project's
// owner and admins to in its namespace (the built-in "admin", with what is
// aggregated into it).
const OwnerRole = "admin"

// adoptionRights lists what adopting namespace ns gives the Project's
// owner: every resource rule of role (the owner's role there; rules on
// non-resource URLs mean nothing in a namespace), and deleting the
// namespace itself, which deleting the Project does.
func adoptionRights(role *rbacv1.ClusterRole, ns string) []authorizationv1.ResourceAttributes {
	seen := map[authorizationv1.ResourceAttributes]bool{}
	var out []authorizationv1.ResourceAttributes
	add := func(a authorizationv1.ResourceAttributes) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(authorizationv1.ResourceAttributes{Resource: "namespaces", Verb: "delete", Name: ns, Namespace: ns})
	for _, r := range role.Rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				resource, sub, _ := strings.Cut(res, "/")
				for _, v := range r.Verbs {
					for _, n := range names {
						add(authorizationv1.ResourceAttributes{Namespace: ns, Group: g, Resource: resource, Subresource: sub, Verb: v, Name: n})
					}
				}
			}
		}
	}
	return out
}

// missingRights asks RBAC about each right, a few at a time, and returns
// those the user lacks in kubectl's words ("delete secrets"): the ones that
// matter most first (deleting the namespace, Secrets, RBAC), then sorted.
func missingRights(ctx context.Context, a Authorizer, user authenticationv1.UserInfo, rights []authorizationv1.ResourceAttributes) ([]string, error) {
	var mu sync.Mutex
	var missing []string
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, r := range rights {
		g.Go(func() error {
			ok, err := a.Allowed(ctx, user, r)
			if err != nil || ok {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			missing = append(missing, describe(r))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	weight := func(s string) int {
		switch {
		case strings.Contains(s, " namespaces "):
			return 0
		case strings.Contains(s, " secrets"):
			return 1
		case strings.Contains(s, ".rbac.authorization.k8s.io"):
			return 2
		}
		return 3
	}
	slices.SortFunc(missing, func(a, b string) int {
		if d := weight(a) - weight(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return missing, nil
}

// describe names a right as kubectl auth can-i would take it.
func describe(r authorizationv1.ResourceAttributes) string {
	res := r.Resource
	if r.Group != "" {
		res += "." + r.Group
	}
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	if r.Name != "" {
		res += " " + r.Name
	}
	return r.Verb + " " + res
}
