package server

import (
	"slices"

	"k8s.io/apiserver/pkg/authentication/user"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// RoleOf is the highest role the user holds in the Project, directly or
// through one of their groups, and false when they hold none. It follows
// what the projects operator grants: the owner and admins get the
// namespace's admin role, members edit, viewers view; the user a Project
// is offered to may read it and accept it.
func RoleOf(p *tenancyv1.Project, u user.Info) (accessv1.Role, bool) {
	if u == nil || u.GetName() == "" {
		return "", false
	}
	if p.Spec.Owner != "" && p.Spec.Owner == u.GetName() {
		return accessv1.RoleOwner, true
	}
	for _, r := range []struct {
		role     accessv1.Role
		subjects []tenancyv1.Subject
	}{
		{accessv1.RoleAdmin, p.Spec.Admins},
		{accessv1.RoleMember, p.Spec.Members},
		{accessv1.RoleViewer, p.Spec.Viewers},
	} {
		for _, s := range r.subjects {
			if names(s, u) {
				return r.role, true
			}
		}
	}
	if p.Spec.HandOverTo != "" && p.Spec.HandOverTo == u.GetName() {
		return accessv1.RoleOffered, true
	}
	return "", false
}

// names says whether a Project subject stands for the user.
func names(s tenancyv1.Subject, u user.Info) bool {
	switch s.Kind {
	case tenancyv1.GroupSubject:
		return slices.Contains(u.GetGroups(), s.Name)
	case tenancyv1.UserSubject, "":
		return s.Name == u.GetName()
	}
	return false
}

// View is the Project as the user sees it in the list.
func View(p *tenancyv1.Project, role accessv1.Role) *accessv1.MyProject {
	out := &accessv1.MyProject{
		Role: role, Owner: p.Spec.Owner, Tier: p.Spec.Tier, DisplayName: p.Spec.DisplayName,
		Ready: "Unknown",
	}
	out.Name, out.UID, out.CreationTimestamp = p.Name, p.UID, p.CreationTimestamp
	out.ResourceVersion = p.ResourceVersion
	out.Labels = p.Labels
	for _, c := range p.Status.Conditions {
		if c.Type == tenancyv1.ReadyCondition {
			out.Ready, out.Reason = c.Status, c.Reason
		}
	}
	return out
}
