package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DomainPolicySchemaVersion is the schema version of the DomainPolicy CRD these
// types describe, the atrium.dev/schema-version annotation its marker
// writes on the CRD; raise both with a field that binaries rely on.
const DomainPolicySchemaVersion = 1

// DomainGrant lets clusters claim hostnames in one DNS domain.
type DomainGrant struct {
	// Domain is a DNS domain, such as "web.example.org" (lower case, ASCII
	// or punycode, no trailing dot). A hostname is in it when it equals the
	// domain or lies beneath it; a wildcard when every name it covers is.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Domain string `json:"domain"`

	// NamespacesOutsideProjects are the namespaces that belong to no
	// Project which may claim hostnames in the domain, by name; "*" means
	// every one. Empty (the default): only the namespaces of Projects, as
	// their tiers allow. A domain the tenants share should leave it empty,
	// so that nobody outside the tenancy model takes names there.
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	NamespacesOutsideProjects []string `json:"namespacesOutsideProjects,omitempty"`
}

// DomainPolicySpec says which domains some member clusters may claim
// hostnames in.
type DomainPolicySpec struct {
	// Clusters are the member clusters the policy is for, by the name each
	// has in the fleet; empty means every member.
	// +listType=set
	// +optional
	Clusters []string `json:"clusters,omitempty"`

	// Domains the clusters may claim hostnames in.
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	Domains []DomainGrant `json:"domains"`
}

// DomainPolicy is the fleet's domain policy, kept at the hub by its admins:
// a member cluster may claim a new hostname only in a domain that a
// DomainPolicy for it grants, and a namespace of that cluster that belongs
// to no Project only where the grant names it. Several policies add up. The
// hostnames webhook of every member follows changes as they are made;
// hostnames claimed before a change keep their claims.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=dompol,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=1"
// +kubebuilder:printcolumn:name="Clusters",type=string,JSONPath=`.spec.clusters`
// +kubebuilder:printcolumn:name="Domains",type=string,JSONPath=`.spec.domains[*].domain`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DomainPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec DomainPolicySpec `json:"spec"`
}

// DomainPolicyList is a list of DomainPolicies.
//
// +kubebuilder:object:root=true
type DomainPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DomainPolicy `json:"items"`
}

// AppliesTo reports whether the policy is for a cluster.
func (p *DomainPolicy) AppliesTo(cluster string) bool {
	if len(p.Spec.Clusters) == 0 {
		return true
	}
	for _, c := range p.Spec.Clusters {
		if c == cluster {
			return true
		}
	}
	return false
}
