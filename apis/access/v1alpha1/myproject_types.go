package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Role is what a user is in a Project.
type Role string

// The roles, from the most to the least.
const (
	// RoleOwner is the Project's spec.owner.
	RoleOwner Role = "Owner"
	// RoleAdmin is in spec.admins (the namespace's admin role).
	RoleAdmin Role = "Admin"
	// RoleMember is in spec.members (the namespace's edit role).
	RoleMember Role = "Member"
	// RoleViewer is in spec.viewers (the namespace's view role).
	RoleViewer Role = "Viewer"
	// RoleOffered is the user the Project is offered to (spec.handOverTo),
	// who may accept or decline it and do nothing else.
	RoleOffered Role = "Offered"
)

// MyProject is one Project the requesting user belongs to, as they see it:
// named like the Project (and its namespace), with the user's role in it.
// The list holds the Projects where the user, or a group they are in, is
// the owner, an admin, a member or a viewer, or that are offered to the
// user, and no other.
//
// +kubebuilder:object:root=true
type MyProject struct {
	metav1.TypeMeta `json:",inline"`
	// Name, UID, labels and creation time are the Project's.
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Role is the highest role the user holds in the Project, directly or
	// through a group: Owner, Admin, Member or Viewer, or Offered when the
	// Project is offered to them (spec.handOverTo).
	Role Role `json:"role"`
	// Owner is the Project's owner.
	Owner string `json:"owner,omitempty"`
	// Tier is the Project's tier.
	Tier string `json:"tier,omitempty"`
	// DisplayName is the Project's display name.
	DisplayName string `json:"displayName,omitempty"`
	// Ready is the status of the Project's Ready condition (True, False or
	// Unknown), and Reason its reason.
	Ready  metav1.ConditionStatus `json:"ready,omitempty"`
	Reason string                 `json:"reason,omitempty"`
}

// MyProjectList is the Projects the requesting user belongs to.
//
// +kubebuilder:object:root=true
type MyProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MyProject `json:"items"`
}

// OpenAPIModelName is the name of MyProject's OpenAPI schema, in the
// reverse-domain form of the Kubernetes API's own, so that the schema the
// server publishes carries the kind (for `kubectl explain`).
func (MyProject) OpenAPIModelName() string { return "dev.atrium.tenancy.access.v1alpha1.MyProject" }

// OpenAPIModelName is the name of MyProjectList's OpenAPI schema.
func (MyProjectList) OpenAPIModelName() string {
	return "dev.atrium.tenancy.access.v1alpha1.MyProjectList"
}
