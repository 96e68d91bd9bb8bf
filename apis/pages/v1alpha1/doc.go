// Package v1alpha1 is the pages.atrium.dev API: GitLabPagesSites, which
// publish a GitLab project's Pages on a hostname a tenant holds.
//
// +kubebuilder:object:generate=true
// +groupName=pages.atrium.dev
package v1alpha1
