package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemberClusterSchemaVersion is the schema version of the MemberCluster CRD
// these types describe, written on the generated CRD as the annotation
// SchemaVersionAnnotation (the marker on MemberCluster). Raise both when a
// field a component writes or reads is added: a component refuses to write
// to a hub whose CRD is older than it needs (docs/fleet-status.md).
const MemberClusterSchemaVersion = 3

// SchemaVersionAnnotation is the annotation on each Atrium CRD that says
// which schema version it serves; binaries compare it at start-up with the
// version they were built for.
const SchemaVersionAnnotation = "atrium.dev/schema-version"

// MemberCluster condition types and reasons, set at the hub by
// operators/fleet from the components' reports.
const (
	// MemberReady is True when at least one component reports, and every
	// component that reports is fresh and ready.
	MemberReady = "Ready"
	// MemberStale is True when a component has not reported within the
	// hub's stale time (--stale-after).
	MemberStale = "Stale"

	ReasonAllReady         = "AllReady"
	ReasonComponentStale   = "ComponentStale"
	ReasonComponentUnready = "ComponentNotReady"
	ReasonNoReports        = "NoReports"
	ReasonAllFresh         = "AllFresh"
)

// MemberClusterSpec describes a member cluster of the fleet.
type MemberClusterSpec struct {
	// DisplayName is a human-readable name for listings.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`
}

// ComponentVersion is one Atrium component as it reports from a member:
// each component applies its own entry (server-side apply, field manager
// atrium-<component>), so entries of different components never disturb
// each other.
type ComponentVersion struct {
	// Name of the component, such as operators/projects.
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`
	// Version the component runs (its module version, or the release it
	// was built as).
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version"`
	// Revision is the source revision it was built from (VCS commit).
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Revision string `json:"revision,omitempty"`
	// Ready is what the component's own readiness check (/readyz) said
	// when it last reported.
	// +optional
	Ready bool `json:"ready"`
	// Message says why the component is not ready, or what it warns of
	// (version skew, say); empty when all is well.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
	// LastSeen is when the component last reported. The hub marks the
	// member Stale when an entry is older than its stale time.
	// +optional
	LastSeen metav1.Time `json:"lastSeen,omitempty"`
}

// MemberClusterStatus is what reports from the member (components) and
// what the hub makes of it (conditions, summary).
type MemberClusterStatus struct {
	// Components are the Atrium components running on the member, each
	// written by the component itself.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Components []ComponentVersion `json:"components,omitempty"`

	// Summary is the hub's one-line account of the components, such as
	// "7 components, 7 ready" or "7 components, 6 ready, 1 stale".
	// +optional
	Summary string `json:"summary,omitempty"`

	// HubVersion is the release of the hub's fleet operator, written by
	// the hub: each member component compares its own release with it
	// (the version skew policy, docs/fleet-status.md).
	// +kubebuilder:validation:MaxLength=128
	// +optional
	HubVersion string `json:"hubVersion,omitempty"`

	// ObservedGeneration is the generation last reported on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions, set by the hub: Ready (every reporting component fresh
	// and ready) and Stale (a component stopped reporting).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MemberCluster is one member cluster of the fleet, as the hub knows it.
// Its name is the cluster name that HostnameClaims and DNS ownership use.
// The hub's admin creates it when registering the member; the member's
// components report into its status.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mc,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=3"
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Stale",type=string,JSONPath=`.status.conditions[?(@.type=="Stale")].status`
// +kubebuilder:printcolumn:name="Components",type=string,JSONPath=`.status.summary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Hub",type=string,JSONPath=`.status.hubVersion`,priority=1
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
