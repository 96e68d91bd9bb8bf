package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProjectSchemaVersion is the schema version of the Project CRD these
// types describe, the atrium.dev/schema-version annotation its marker
// writes on the CRD; raise both with a field that binaries rely on.
const ProjectSchemaVersion = 1

// SubjectKind is the kind of identity a Subject names.
// +kubebuilder:validation:Enum=User;Group
type SubjectKind string

const (
	// UserSubject names a single user as the API server authenticates it.
	UserSubject SubjectKind = "User"
	// GroupSubject names a group of users as the API server authenticates it.
	GroupSubject SubjectKind = "Group"
)

// Subject is a user or a group that is given a role in a Project.
type Subject struct {
	// Kind is User or Group.
	// +kubebuilder:default=User
	// +optional
	Kind SubjectKind `json:"kind,omitempty"`

	// Name is the user or group name exactly as the API server sees it,
	// for example "jdoe" or "it-web-team".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// NetworkIsolation says whether a Project's namespace is closed to traffic
// from other tenants.
// +kubebuilder:validation:Enum=Enabled;Disabled
type NetworkIsolation string

const (
	// IsolationEnabled admits traffic only from the namespace itself and the
	// platform namespaces its tier names (ingress, monitoring).
	IsolationEnabled NetworkIsolation = "Enabled"
	// IsolationDisabled removes Atrium's isolating NetworkPolicy.
	IsolationDisabled NetworkIsolation = "Disabled"
)

// ProjectSpec is what the requester asks for.
type ProjectSpec struct {
	// DisplayName is a human-readable name shown in listings.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Description says what the Project is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`

	// Owner is the user accountable for the Project. Admission sets it to the
	// user who creates the Project; only platform admins may name someone
	// else. The owner is an admin of the namespace, and the Project counts
	// against the owner's per-user limit on its tier. To hand the Project
	// over, the owner offers it with handOverTo and the recipient accepts by
	// setting owner to themselves; a platform admin may set it directly.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Owner string `json:"owner,omitempty"`

	// HandOverTo offers the Project to another user. Only the owner or a
	// platform admin may set it. The named user may then read the Project and
	// accept it by setting spec.owner to their own name (nothing else may
	// change in that edit); until they do, nothing changes, and the offer is
	// withdrawn by clearing this field. Accepting counts against the
	// recipient's per-user limit, and admission clears the field.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	HandOverTo string `json:"handOverTo,omitempty"`

	// Admins get the "admin" role in the namespace and may edit the Project.
	// +listType=atomic
	// +optional
	Admins []Subject `json:"admins,omitempty"`

	// Members get the "edit" role in the namespace.
	// +listType=atomic
	// +optional
	Members []Subject `json:"members,omitempty"`

	// Viewers get the "view" role in the namespace.
	// +listType=atomic
	// +optional
	Viewers []Subject `json:"viewers,omitempty"`

	// Tier is the name of the ProjectTier whose quota, limits and network
	// policy apply. Admission fills in the platform's default tier when empty.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Tier string `json:"tier,omitempty"`

	// NetworkIsolation closes the namespace to traffic from other tenants
	// (Enabled, the default) or leaves it open (Disabled).
	// +kubebuilder:default=Enabled
	// +optional
	NetworkIsolation NetworkIsolation `json:"networkIsolation,omitempty"`

	// DeletionProtection refuses every delete of the Project while true;
	// set it to false first to delete the Project and its namespace.
	// +optional
	DeletionProtection bool `json:"deletionProtection,omitempty"`
}

// ProjectStatus is what the projects operator observed and did.
type ProjectStatus struct {
	// Namespace is the namespace that belongs to the Project, once it exists.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Tier is the tier whose settings were last applied, with its generation.
	// +optional
	Tier *AppliedTier `json:"tier,omitempty"`

	// ObservedGeneration is the generation of the spec that the last complete
	// reconcile applied.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, and one per part (NamespaceReady, RBACReady,
	// QuotaReady, NetworkPolicyReady), each with a reason a machine can
	// match and a message a person can act on.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AppliedTier records which tier generation a Project was last brought to.
type AppliedTier struct {
	// Name of the ProjectTier.
	Name string `json:"name"`
	// Generation of the ProjectTier that was applied.
	Generation int64 `json:"generation"`
}

// Condition types of a Project.
const (
	// ReadyCondition is true when every part of the Project is in place.
	ReadyCondition = "Ready"
	// NamespaceReadyCondition is true when the namespace exists and belongs
	// to the Project.
	NamespaceReadyCondition = "NamespaceReady"
	// RBACReadyCondition is true when the role bindings match the spec.
	RBACReadyCondition = "RBACReady"
	// QuotaReadyCondition is true when ResourceQuota and LimitRange match
	// the tier.
	QuotaReadyCondition = "QuotaReady"
	// NetworkPolicyReadyCondition is true when the isolating NetworkPolicy
	// matches the spec and the tier.
	NetworkPolicyReadyCondition = "NetworkPolicyReady"
)

// Labels and annotations Atrium puts on the objects it manages.
const (
	// ProjectLabel names the Project that a namespace or object belongs to.
	ProjectLabel = "tenancy.atrium.dev/project"
	// TierLabel names the tier of the Project on its namespace.
	TierLabel = "tenancy.atrium.dev/tier"
	// OwnerLabel carries the Project's owner on its namespace, where it is
	// a valid label value.
	OwnerLabel = "tenancy.atrium.dev/owner"
	// TenantNamespaceLabel marks every namespace that belongs to a tenant.
	TenantNamespaceLabel = "tenancy.atrium.dev/tenant"
	// AdoptNamespaceAnnotation is set on a Project by admission to the UID of
	// the existing namespace that its requester was allowed to adopt. The
	// operator adopts that namespace and no other.
	AdoptNamespaceAnnotation = "tenancy.atrium.dev/adopt-namespace-uid"
	// ProjectFinalizer keeps a Project until its namespace and cluster-wide
	// objects are removed.
	ProjectFinalizer = "tenancy.atrium.dev/project"
)

// Project is a tenant's self-service unit: one namespace with its RBAC,
// quota, limits and network isolation, named like the Project.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=proj,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=1"
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.spec.owner`
// +kubebuilder:printcolumn:name="Offered To",type=string,JSONPath=`.spec.handOverTo`,priority=1
// +kubebuilder:printcolumn:name="Tier",type=string,JSONPath=`.spec.tier`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="a Project name is a namespace name: at most 63 characters"
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ProjectSpec `json:"spec,omitempty"`
	// +optional
	Status ProjectStatus `json:"status,omitempty"`
}

// ProjectList is a list of Projects.
//
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Project `json:"items"`
}
