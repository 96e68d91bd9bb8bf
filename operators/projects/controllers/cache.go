package controllers

import (
	"strings"
	"unique"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/slots"
)

// CacheOptions keeps in memory only the objects the operator manages, found
// by their project label, plus every namespace (for adoption) and the
// Project slots in slotNamespace. On a cluster with thousands of tenants
// this is what bounds the operator's memory.
//
// Of the objects it owns (the namespaces among them) the cache keeps only
// what the operator reads: their names, UIDs, owner references, the
// project label, the deletion timestamp and a digest of their content
// (ownedView). Of Projects it keeps all but the labels and annotations of
// other domains (projectView). What a tenant writes on the owned objects
// (annotations, labels, specs), or in other domains' labels and
// annotations of a Project, never adds to the operator's memory beyond a
// fixed size per object.
func CacheOptions(slotNamespace string) cache.Options {
	managed, _ := labels.NewRequirement(tenancyv1.ProjectLabel, selection.Exists, nil)
	owned := cache.ByObject{Label: labels.NewSelector().Add(*managed), Transform: ownedView}
	slot, _ := labels.NewRequirement(slots.KeyLabel, selection.Exists, nil)
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&coordinationv1.Lease{}: {
			Namespaces: map[string]cache.Config{slotNamespace: {}},
			Label:      labels.NewSelector().Add(*slot),
		},
		// Every namespace, whoever made it: a Project must find the one
		// that already has its name (adoption, or a conflict).
		&corev1.Namespace{}:           {Transform: ownedView},
		&tenancyv1.Project{}:          {Transform: projectView},
		&rbacv1.RoleBinding{}:         owned,
		&rbacv1.ClusterRole{}:         owned,
		&rbacv1.ClusterRoleBinding{}:  owned,
		&corev1.ResourceQuota{}:       owned,
		&corev1.LimitRange{}:          owned,
		&networkingv1.NetworkPolicy{}: owned,
	}}
}

// contentKey carries, in the labels of the operator's cached views only,
// the digest of the object's content (contentOf). It is not a valid label
// or annotation key (it holds a space), so the API server never stores
// it: no object read from the server carries it, no tenant can forge it,
// and a view written back by mistake is refused instead of stored. It sits
// in the labels, beside the project label, because one small map costs
// the same for one entry as for two, and a second map as much again.
const contentKey = "tenancy.atrium.dev/cached content"

var _ toolscache.TransformFunc = ownedView

// ownedView reduces an object the operator owns, as the cache receives it,
// to what the operator reads of it: the owner references (which Project an
// event wakes), the UID and project label (deleteIfExists), the deletion
// timestamp (a namespace being deleted) and the digest of its content
// (under contentKey), with which appliedMemory tells drift from a status
// write. Everything
// else, specs and statuses, other writers' labels and annotations, and
// managedFields, stays out of memory. Objects of other kinds pass
// unchanged; a view passes unchanged (the function is idempotent).
func ownedView(in any) (any, error) {
	obj, ok := in.(client.Object)
	if !ok {
		return in, nil
	}
	if _, done := obj.GetLabels()[contentKey]; done {
		return in, nil
	}
	content, ok := contentOf(obj)
	if !ok {
		// Kept whole, without managedFields: appliedMemory then hashes
		// the object as it is.
		obj.SetManagedFields(nil)
		return obj, nil
	}
	// The names a Project's objects repeat (its namespace, its label,
	// their owner) are held once for all of them.
	meta := metav1.ObjectMeta{
		Name:              intern(obj.GetName()),
		Namespace:         intern(obj.GetNamespace()),
		UID:               obj.GetUID(),
		ResourceVersion:   obj.GetResourceVersion(),
		DeletionTimestamp: obj.GetDeletionTimestamp(),
		OwnerReferences:   obj.GetOwnerReferences(),
		Labels:            map[string]string{contentKey: string(content[:])},
	}
	for i := range meta.OwnerReferences {
		ref := &meta.OwnerReferences[i]
		ref.APIVersion, ref.Kind, ref.Name = intern(ref.APIVersion), intern(ref.Kind), intern(ref.Name)
	}
	if v, ok := obj.GetLabels()[tenancyv1.ProjectLabel]; ok {
		meta.Labels[tenancyv1.ProjectLabel] = intern(v)
	}
	var out client.Object
	switch obj.(type) {
	case *corev1.Namespace:
		out = &corev1.Namespace{ObjectMeta: meta}
	case *rbacv1.RoleBinding:
		out = &rbacv1.RoleBinding{ObjectMeta: meta}
	case *rbacv1.ClusterRole:
		out = &rbacv1.ClusterRole{ObjectMeta: meta}
	case *rbacv1.ClusterRoleBinding:
		out = &rbacv1.ClusterRoleBinding{ObjectMeta: meta}
	case *corev1.ResourceQuota:
		out = &corev1.ResourceQuota{ObjectMeta: meta}
	case *corev1.LimitRange:
		out = &corev1.LimitRange{ObjectMeta: meta}
	case *networkingv1.NetworkPolicy:
		out = &networkingv1.NetworkPolicy{ObjectMeta: meta}
	default:
		obj.SetManagedFields(nil)
		return obj, nil
	}
	return out, nil
}

// cachedContent is the content digest of an object read from the cache:
// the one its view carries, or, for an object kept whole, its own.
func cachedContent(obj client.Object) ([32]byte, bool) {
	if d, ok := obj.GetLabels()[contentKey]; ok {
		var content [32]byte
		if len(d) != len(content) {
			return content, false
		}
		copy(content[:], d)
		return content, true
	}
	return contentOf(obj)
}

// projectView keeps a Project whole but for managedFields and the labels
// and annotations outside Atrium's tenancy domain (kubectl's
// last-applied-configuration among them): the operator reads only its own
// (the adoption approval), and a Project's owner may write any others.
// Patches are unaffected: the operator patches a Project with the
// difference between two copies of the same view.
func projectView(in any) (any, error) {
	p, ok := in.(*tenancyv1.Project)
	if !ok {
		return in, nil
	}
	p.ManagedFields = nil
	p.Labels = ownDomain(p.Labels)
	p.Annotations = ownDomain(p.Annotations)
	return p, nil
}

// intern returns the one copy of s that every view shares.
func intern(s string) string { return unique.Make(s).Value() }

// ownDomain is m without the keys outside tenancy.atrium.dev (nil when
// none is left).
func ownDomain(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if strings.HasPrefix(k, tenancyv1.GroupVersion.Group+"/") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
