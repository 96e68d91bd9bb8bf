// Package v1alpha1 is the tenancy.atrium.dev API: Projects, the unit of
// self-service tenancy, and ProjectTiers, the admin-owned policy they follow.
//
// +kubebuilder:object:generate=true
// +groupName=tenancy.atrium.dev
package v1alpha1
