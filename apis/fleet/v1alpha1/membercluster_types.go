package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemberClusterSpec describes a member cluster of the fleet.
type MemberClusterSpec struct {
	// DisplayName is a human-readable name for listings.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`
}

// ComponentVersion is one Atrium component as it reports from a member.
type ComponentVersion struct {
	// Name of the component, such as operators/projects.
	Name string `json:"name"`
	// Version the component runs.
	Version string `json:"version"`
	// LastSeen is when the component last reported.
	// +optional
	LastSeen metav1.Time `json:"lastSeen,omitempty"`
}

// MemberClusterStatus is what reports from the member.
type MemberClusterStatus struct {
	// Components are the Atrium components running on the member and their
	// versions.
	// +listType=map
	// +listMapKey=name
	// +optional
	Components []ComponentVersion `json:"components,omitempty"`

	// ObservedGeneration is the generation last reported on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready when the member's components report.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MemberCluster is one member cluster of the fleet, as the hub knows it.
// Its name is the cluster name that HostnameClaims and DNS ownership use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mc,categories=atrium
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MemberCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec MemberClusterSpec `json:"spec,omitempty"`
	// +optional
	Status MemberClusterStatus `json:"status,omitempty"`
}

// MemberClusterList is a list of MemberClusters.
//
// +kubebuilder:object:root=true
type MemberClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberCluster `json:"items"`
}
