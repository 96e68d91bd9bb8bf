package controllers

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/slots"
)

// CacheOptions keeps in memory only the objects the operator manages, found
// by their project label, plus every namespace (for adoption) and the
// Project slots in slotNamespace. On a cluster with thousands of tenants
// this is what bounds the operator's memory.
func CacheOptions(slotNamespace string) cache.Options {
	managed, _ := labels.NewRequirement(tenancyv1.ProjectLabel, selection.Exists, nil)
	byLabel := cache.ByObject{Label: labels.NewSelector().Add(*managed)}
	slot, _ := labels.NewRequirement(slots.KeyLabel, selection.Exists, nil)
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&coordinationv1.Lease{}: {
			Namespaces: map[string]cache.Config{slotNamespace: {}},
			Label:      labels.NewSelector().Add(*slot),
		},
		&rbacv1.RoleBinding{}:         byLabel,
		&rbacv1.ClusterRole{}:         byLabel,
		&rbacv1.ClusterRoleBinding{}:  byLabel,
		&corev1.ResourceQuota{}:       byLabel,
		&corev1.LimitRange{}:          byLabel,
		&networkingv1.NetworkPolicy{}: byLabel,
	}}
}
