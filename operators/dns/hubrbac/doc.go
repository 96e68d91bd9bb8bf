// Package hubrbac says what the DNS operator may do at the hub, where each
// member has an identity of its own (ServiceAccount <cluster>-dns in
// atrium-fleet, see config/hub/member). `make manifests` writes these
// markers into config/hub/role.yaml, apart from the role on the member; the
// ValidatingAdmissionPolicies of config/hub narrow them to the
// DNSRegistered condition of the member's own claims.
package hubrbac

// The zone and status controllers read this cluster's claims from a cache
// (list and watch by label, so RBAC cannot narrow it); the status
// controller writes each claim's DNSRegistered condition by server-side
// apply, a patch of the status subresource.
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=hostnameclaims,verbs=get;list;watch
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=hostnameclaims/status,verbs=patch

// Reporting to the cluster's MemberCluster (package report; the same
// markers as internal/report/hubrbac): its own entry of status.components.
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=memberclusters/status,verbs=patch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=memberclusters.fleet.atrium.dev;hostnameclaims.fleet.atrium.dev
