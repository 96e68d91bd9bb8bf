// Package hubrbac says what a component may do at the hub to report to its
// cluster's MemberCluster (package report): `make manifests` writes these
// markers into config/hub/report/role.yaml (atrium-hub-report, the hub role
// of the components that reach the hub only to report), and the same
// markers stand in the hubrbac packages of the components with a hub role
// of their own. The ValidatingAdmissionPolicy atrium-fleet-identities of
// config/hub narrows them to the component's own entry of its own
// cluster's MemberCluster.
package hubrbac

// The reporter applies its entry of status.components by server-side
// apply, a patch of the status subresource, and first reads the
// MemberCluster CRD (by name) to check its schema version.
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=memberclusters/status,verbs=patch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=memberclusters.fleet.atrium.dev
