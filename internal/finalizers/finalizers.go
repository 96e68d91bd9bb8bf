// Package finalizers writes an object's finalizers and nothing else.
//
// Why not an Update: an update sends the whole object as the binary's Go
// types know it, so a field a newer CRD added (and a user set) would be
// dropped by an older operator adding or removing its finalizer, the state
// of every rolling upgrade and rollback. A merge patch names only what
// changed.
package finalizers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Patch writes obj's finalizers as they are now, against orig as read: a
// merge patch of metadata.finalizers, conditional on orig's
// resourceVersion (a finalizer list is replaced whole, so a write in
// between must mean reading again, not overwriting it).
func Patch(ctx context.Context, c client.Client, obj, orig client.Object) error {
	return c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}
