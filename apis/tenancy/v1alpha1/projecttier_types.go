package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProjectTierSchemaVersion is the schema version of the ProjectTier CRD these
// types describe, the atrium.dev/schema-version annotation its marker
// writes on the CRD; raise both with a field that binaries rely on.
const ProjectTierSchemaVersion = 1

// ProjectTierSpec is the policy that every Project on the tier follows.
// Changing it updates every Project on the tier.
type ProjectTierSpec struct {
	// Description says who the tier is for.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`

	// SelfService lets any authenticated user create Projects on this tier.
	// Otherwise a user needs the "use" verb on this ProjectTier through RBAC.
	// +optional
	SelfService bool `json:"selfService,omitempty"`

	// MaxProjectsPerUser is the most Projects on this tier that one user may
	// own. Unset means no limit.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxProjectsPerUser *int32 `json:"maxProjectsPerUser,omitempty"`

	// ResourceQuota is applied as the ResourceQuota "atrium-quota" in each
	// Project's namespace. Unset means no quota.
	// +optional
	ResourceQuota *corev1.ResourceQuotaSpec `json:"resourceQuota,omitempty"`

	// LimitRange is applied as the LimitRange "atrium-limits" in each
	// Project's namespace. Unset means no limits.
	// +optional
	LimitRange *corev1.LimitRangeSpec `json:"limitRange,omitempty"`

	// AllowedDomains are the DNS domains under which this tier's Projects may
	// publish hostnames, such as "web.example.org" (lower case, ASCII or
	// punycode, no trailing dot). A hostname is allowed when it equals a
	// domain or lies beneath it.
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	AllowedDomains []string `json:"allowedDomains,omitempty"`

	// MaxHostnamesPerProject is the most hostnames one Project may hold
	// (claims in the fleet's hostname registry, for any of its objects).
	// Unset means no limit beyond the webhook's per-object bound.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxHostnamesPerProject *int32 `json:"maxHostnamesPerProject,omitempty"`

	// NetworkPolicy is the isolation applied to Projects that keep
	// networkIsolation Enabled.
	// +optional
	NetworkPolicy TierNetworkPolicy `json:"networkPolicy,omitempty"`

	// Storage is what this tier's Projects may ask of OpenStackVolumes
	// (Cinder-backed storage). Unset means the tier offers none.
	// +optional
	Storage *TierStorage `json:"storage,omitempty"`
}

// TierStorage is a tier's offer of OpenStack volumes. Its quota becomes
// the ResourceQuota "atrium-storage" in each Project's namespace, on the
// StorageClass of the operator's claims, so the API server enforces it
// atomically however many volumes are created at once.
type TierStorage struct {
	// VolumeTypes are the Cinder volume types a Project may ask for; empty
	// allows any type. The cloud's default type (an OpenStackVolume
	// without volumeType) is allowed only when this is empty or lists "".
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	VolumeTypes []string `json:"volumeTypes,omitempty"`

	// MaxVolumeGiB is the largest one volume may be; unset means no limit
	// beyond the quota.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxVolumeGiB *int32 `json:"maxVolumeGiB,omitempty"`

	// Gigabytes is the most GiB of volumes one Project may hold; unset
	// means no limit.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Gigabytes *int32 `json:"gigabytes,omitempty"`

	// Volumes is the most volumes one Project may hold; unset means no
	// limit.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Volumes *int32 `json:"volumes,omitempty"`

	// AllowAdoption lets a Project adopt an existing Cinder volume that
	// nothing holds: one its own namespace retained when it deleted an
	// OpenStackVolume, or one an admin marked for it (metadata
	// atrium.dev/adoptable-by = "<cluster>/<namespace>"). Another
	// tenant's volume is never adoptable, whatever this says.
	// +optional
	AllowAdoption bool `json:"allowAdoption,omitempty"`
}

// TierNetworkPolicy describes where an isolated namespace accepts traffic
// from, besides itself.
type TierNetworkPolicy struct {
	// AllowFromNamespaces are platform namespaces (the ingress controller,
	// monitoring) whose pods may reach every pod of the Project.
	// +listType=set
	// +optional
	AllowFromNamespaces []string `json:"allowFromNamespaces,omitempty"`

	// AllowFromNamespaceSelector additionally admits traffic from every
	// namespace whose labels match, for platforms that label their own
	// namespaces.
	// +optional
	AllowFromNamespaceSelector *metav1.LabelSelector `json:"allowFromNamespaceSelector,omitempty"`
}

// ProjectTierStatus is what the projects operator observed of the tier.
type ProjectTierStatus struct {
	// Projects is the number of Projects on this tier.
	// +optional
	Projects int32 `json:"projects"`

	// ObservedGeneration is the generation last checked.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready is true when every Project on the tier has been
	// brought to the tier's current generation.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ProjectTier is an admin-owned class of Projects: quota, limits, the most
// Projects one user may own, allowed DNS domains and network isolation.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ptier,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=1"
// +kubebuilder:printcolumn:name="Self Service",type=boolean,JSONPath=`.spec.selfService`
// +kubebuilder:printcolumn:name="Max Per User",type=integer,JSONPath=`.spec.maxProjectsPerUser`
// +kubebuilder:printcolumn:name="Projects",type=integer,JSONPath=`.status.projects`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ProjectTier struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ProjectTierSpec `json:"spec,omitempty"`
	// +optional
	Status ProjectTierStatus `json:"status,omitempty"`
}

// ProjectTierList is a list of ProjectTiers.
//
// +kubebuilder:object:root=true
type ProjectTierList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProjectTier `json:"items"`
}
