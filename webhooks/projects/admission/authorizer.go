package admission

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
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

// adminOfNamespace asks whether a user administers a namespace: creating
// RoleBindings there is what the built-in "admin" role has and "edit" lacks.
func adminOfNamespace(ns string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Verb: "create", Namespace: ns}
}
