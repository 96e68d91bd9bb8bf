// Package v1alpha1 is the fleet.atrium.dev API, served by the hub cluster:
// HostnameClaims, one per hostname claimed anywhere in the fleet, and
// MemberClusters, one per member cluster.
//
// +kubebuilder:object:generate=true
// +groupName=fleet.atrium.dev
package v1alpha1
