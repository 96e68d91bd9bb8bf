package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HostnameClaimSchemaVersion is the schema version of the HostnameClaim CRD these
// types describe, the atrium.dev/schema-version annotation its marker
// writes on the CRD; raise both with a field that binaries rely on.
const HostnameClaimSchemaVersion = 1

// Labels on every HostnameClaim, so that a member's components watch only
// the claims of their own cluster.
const (
	// ClusterLabel holds spec.cluster.
	ClusterLabel = "fleet.atrium.dev/cluster"
	// NamespaceLabel holds spec.namespace.
	NamespaceLabel = "fleet.atrium.dev/namespace"
	// TentativeLabel is on a wildcard's claim while the admission that
	// made it checks that no other holder has a name under it; a claim
	// with it does not yet hold the names under the wildcard.
	TentativeLabel = "fleet.atrium.dev/tentative"
	// UnderLabelPrefix starts one label per domain a claim's hostname lies
	// under (".../<hash of the domain>"), so that a wildcard's admission
	// finds every claim beneath it with one list.
	UnderLabelPrefix = "under.fleet.atrium.dev/"
)

// SourceRef names one object that uses a claimed hostname.
type SourceRef struct {
	// Group of the object's kind, empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// Kind of the object, such as Ingress or HTTPRoute.
	Kind string `json:"kind"`
	// Name of the object in the claim's namespace.
	Name string `json:"name"`
	// UID of the object, once it is persisted. Empty while the object is
	// being admitted: the claim is reserved before the object exists.
	// +optional
	UID string `json:"uid,omitempty"`
	// ReservedAt is when admission last recorded this source. A source whose
	// object does not exist is kept for a grace period after it, since the
	// object may still be on its way through admission.
	// +optional
	ReservedAt metav1.Time `json:"reservedAt,omitempty"`
}

// HostnameClaimSpec says who holds a hostname.
type HostnameClaimSpec struct {
	// Hostname is the normalized hostname (lower case, ASCII/punycode, no
	// trailing dot); a leading "*." marks a wildcard.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="hostname is immutable"
	Hostname string `json:"hostname"`

	// Cluster is the name of the member cluster that holds the hostname.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="cluster is immutable; release the claim instead"
	Cluster string `json:"cluster"`

	// Namespace is the namespace in that cluster that holds the hostname.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="namespace is immutable; release the claim instead"
	Namespace string `json:"namespace"`

	// Project is the Project the namespace belongs to, when it has one.
	// +optional
	Project string `json:"project,omitempty"`

	// Sources are the objects in that namespace that use the hostname.
	// +listType=atomic
	// +optional
	Sources []SourceRef `json:"sources,omitempty"`
}

// HostnameClaimStatus is what the components report about the hostname.
type HostnameClaimStatus struct {
	// ObservedGeneration is the generation last reported on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (the claim is held by live sources, kept by the
	// hostnames webhook's releaser) and DNSRegistered (the holding
	// cluster's DNS operator published the hostname in the fleet's zone, or
	// why it did not: Conflict, NoTarget, OutsideZones, ProviderError,
	// NoObject). Each component owns its condition (server-side apply).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// HostnameClaim reserves one hostname for one namespace of one cluster,
// fleet-wide. It is created by the hostnames webhook at admission; its name
// is derived from the hostname, so the API server's create is the atomic
// test-and-set that decides races between clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=hc,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=1"
// +kubebuilder:printcolumn:name="Hostname",type=string,JSONPath=`.spec.hostname`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.namespace`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="DNS",type=string,JSONPath=`.status.conditions[?(@.type=="DNSRegistered")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HostnameClaim struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec HostnameClaimSpec `json:"spec"`
	// +optional
	Status HostnameClaimStatus `json:"status,omitempty"`
}

// HostnameClaimList is a list of HostnameClaims.
//
// +kubebuilder:object:root=true
type HostnameClaimList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HostnameClaim `json:"items"`
}
