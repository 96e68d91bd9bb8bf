// Package hubrbac says what the hostnames webhook may do at the hub, where
// each member has an identity of its own (ServiceAccount <cluster>-hostnames
// in atrium-fleet, see config/hub/member). `make manifests` writes these
// markers into config/hub/role.yaml, apart from the role on the member; the
// ValidatingAdmissionPolicies of config/hub narrow them to the member's own
// claims.
package hubrbac

// Admission reserves a hostname by creating its claim, reads a claim to
// name its holder and updates it to add a source; the claims cache lists
// and watches this cluster's claims (by label, so RBAC cannot narrow it:
// claims say only who holds which hostname); the releaser updates a
// claim's sources, deletes a claim without sources and patches its Ready
// condition.
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=hostnameclaims,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=hostnameclaims/status,verbs=patch

// Admission follows the fleet's domain policy: which domains this cluster
// may claim hostnames in (written by the hub's admins only).
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=domainpolicies,verbs=get;list;watch

// Reporting to the cluster's MemberCluster (package report; the same
// markers as internal/report/hubrbac): its own entry of status.components.
// +kubebuilder:rbac:groups=fleet.atrium.dev,resources=memberclusters/status,verbs=patch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get,resourceNames=memberclusters.fleet.atrium.dev;hostnameclaims.fleet.atrium.dev;domainpolicies.fleet.atrium.dev
