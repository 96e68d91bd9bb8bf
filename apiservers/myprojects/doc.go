// Command myprojects serves the access.tenancy.atrium.dev API behind the
// Kubernetes API aggregation layer: `kubectl get myprojects` lists the
// Projects the user belongs to (owner, admin, member or viewer, directly or
// through a group) and no other, the per-user view OpenShift gives of its
// own projects. RBAC can grant a cluster-scoped object by name but cannot
// filter a list, so the filtering happens here, for the user the API
// server authenticated.
package main
