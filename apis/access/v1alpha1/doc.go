// Package v1alpha1 is the access.tenancy.atrium.dev API: read-only views of
// the Projects a user belongs to, served by the myprojects API server
// (apiservers/myprojects) behind the Kubernetes API aggregation layer, so
// that `kubectl get myprojects` lists each user's own Projects and nobody
// else's, which RBAC alone cannot express for a cluster-scoped kind.
//
// It is not a CRD: nothing is stored; each request is answered from the
// Projects, for the user who asks.
//
// +kubebuilder:object:generate=true
// +kubebuilder:skip
package v1alpha1
