package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/sources"
)

// ManagerOptions are o with the cache settings of the DNS operator's
// manager in its member cluster; the binary and the benchmark both start
// their manager with them, so that what is measured is what runs.
//
// Source objects are read as unstructured (any kind the cluster serves)
// from the cache, and cached slim or trimmed (CacheTransform).
func ManagerOptions(o ctrl.Options) ctrl.Options {
	o.Client.Cache = &client.CacheOptions{Unstructured: true}
	o.Cache.DefaultTransform = CacheTransform
	return o
}

// CacheTransform keeps of an object of a source kind whose records follow
// from its hostnames and its own status (an Ingress, a Route) only those
// and its identity (sources.SlimRecords), which the zone controller reads
// through sources.CachedRecords; every other object is trimmed
// (TrimCached). At 10,000 Ingresses, whole objects were most of the
// operator's live heap: as unstructured maps an Ingress takes some 3 KiB
// even trimmed, slim under 1 KiB. The operator never writes the objects it
// caches (its events name them by reference), so no dropped field can be
// lost by a write.
func CacheTransform(in any) (any, error) {
	if u, ok := in.(*unstructured.Unstructured); ok {
		if s, known := sources.For(u.GroupVersionKind().GroupKind()); known {
			if slim := sources.SlimRecords(s, u); slim != u {
				return slim, nil
			}
		}
	}
	return TrimCached(in)
}

// lastApplied is the annotation kubectl apply keeps a whole copy of the
// object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// TrimCached leaves out of a cached object what the operator never reads
// and what is often its largest part: the managed fields and kubectl's
// copy of the last applied object. Everything else (the whole spec and
// status, the rest of the metadata) stays, so a source kind that reads a
// field more finds it in the cache.
func TrimCached(in any) (any, error) {
	o, err := meta.Accessor(in)
	if err != nil {
		// Not an object (a tombstone, say): kept as it is.
		return in, nil
	}
	if o.GetManagedFields() != nil {
		o.SetManagedFields(nil)
	}
	if a := o.GetAnnotations(); a != nil {
		if _, ok := a[lastApplied]; ok {
			delete(a, lastApplied)
			o.SetAnnotations(a)
		}
	}
	return in, nil
}
