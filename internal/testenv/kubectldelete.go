package testenv

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// KubectlDelete deletes one object the way `kubectl delete KIND NAME` does
// with its defaults (--cascade=background, --wait=true), acting as whoever
// cfg authenticates as (a user from UserConfig, say), and returns once the
// object is gone.
//
// Like kubectl it reads the object first (to know its UID), deletes it
// with background propagation, then waits: a get, then a list and a watch
// filtered by fieldSelector=metadata.name=NAME until the object is gone or
// another object of that name (a new UID) has taken its place. (kubectl
// 1.36 streams the initial state with a watch, sendInitialEvents=true,
// instead of the list; RBAC sees a watch of that name either way.) That
// filter is what lets someone granted the object by name alone (RBAC
// resourceNames) list and watch it; without it the list would need access
// to every object of the kind.
//
// Unlike kubectl it is strict, which is what a test wants: any error is
// returned, wrapped so that apierrors.IsForbidden and friends still see it.
// kubectl itself treats a Forbidden wait as success and returns without
// waiting, and an informer whose list is forbidden retries until kubectl's
// timeout (a week by default), so a missing permission shows there only as
// a delete that does not wait or never returns. ctx bounds the wait.
func KubectlDelete(ctx context.Context, cfg *rest.Config, gvr schema.GroupVersionResource, namespace, name string) error {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	res := dc.Resource(gvr).Namespace(namespace)
	what := fmt.Sprintf("%s %s", gvr.GroupResource(), name)
	if namespace != "" {
		what = fmt.Sprintf("%s %s/%s", gvr.GroupResource(), namespace, name)
	}

	obj, err := res.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading %s: %w", what, err)
	}
	uid := obj.GetUID()
	background := metav1.DeletePropagationBackground
	if err := res.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		return fmt.Errorf("deleting %s: %w", what, err)
	}

	// kubectl's wait.IsDeleted: a get first, then list and watch by name.
	obj, err = res.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("waiting for %s to be deleted: %w", what, err)
	case obj.GetUID() != uid:
		return nil
	}
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	for {
		gone, rv, err := listedGone(ctx, res, byName, name, uid)
		if err != nil {
			return fmt.Errorf("waiting for %s to be deleted: listing by name: %w", what, err)
		}
		if gone {
			return nil
		}
		gone, err = watchedGone(ctx, res, byName, rv, name, uid)
		if err != nil {
			return fmt.Errorf("waiting for %s to be deleted: watching by name: %w", what, err)
		}
		if gone {
			return nil
		}
		// The watch ended (server timeout, expired resourceVersion): list
		// again, as an informer does.
	}
}

// listedGone lists the object by name and reports whether it is gone, with
// the resourceVersion to watch from.
func listedGone(ctx context.Context, res dynamic.ResourceInterface, byName, name string, uid types.UID) (bool, string, error) {
	list, err := res.List(ctx, metav1.ListOptions{FieldSelector: byName})
	if err != nil {
		return false, "", err
	}
	for _, item := range list.Items {
		if item.GetName() == name && item.GetUID() == uid {
			return false, list.GetResourceVersion(), nil
		}
	}
	return true, "", nil
}

// watchedGone watches the object by name from rv and reports whether it
// went; false with no error means the watch ended first.
func watchedGone(ctx context.Context, res dynamic.ResourceInterface, byName, rv, name string, uid types.UID) (bool, error) {
	w, err := res.Watch(ctx, metav1.ListOptions{FieldSelector: byName, ResourceVersion: rv, AllowWatchBookmarks: true})
	if err != nil {
		return false, err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return false, nil // list again
				}
				return false, err
			case watch.Deleted:
				return true, nil
			case watch.Added, watch.Modified:
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && u.GetName() == name && u.GetUID() != uid {
					return true, nil
				}
			}
		}
	}
}
