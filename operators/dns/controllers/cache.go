package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ManagerOptions are o with the cache settings of the DNS operator's
// manager in its member cluster; the binary and the benchmark both start
// their manager with them, so that what is measured is what runs.
//
// Source objects are read as unstructured (any kind the cluster serves)
// from the cache, and cached trimmed (TrimCached): at 10,000 Ingresses the
// managed fields alone are about as large as the rest of the objects.
func ManagerOptions(o ctrl.Options) ctrl.Options {
	o.Client.Cache = &client.CacheOptions{Unstructured: true}
	o.Cache.DefaultTransform = TrimCached
	return o
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
