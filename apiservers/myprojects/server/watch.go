package server

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	toolscache "k8s.io/client-go/tools/cache"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Watch follows the user's Projects as `kubectl get myprojects -w` does:
// a Project appears (ADDED) when the user gains a role in it or it is
// created with them in it, changes (MODIFIED), and goes (DELETED) when it
// is deleted or the user loses their last role in it. From a list's
// resourceVersion, what changed after the list is sent; from none (or
// "0"), or with sendInitialEvents, the current Projects first (ended by a
// bookmark when bookmarks are allowed, as watch-list clients expect).
//
// It follows the server's cache: a Project deleted in the instant between
// a list and its watch is not reported as deleted.
func (s *Storage) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	if s.Changes == nil {
		return nil, apierrors.NewMethodNotSupported(accessv1.GroupVersion.WithResource(accessv1.Resource).GroupResource(), "watch")
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user")
	}
	lsel, fsel, err := selectors(options)
	if err != nil {
		return nil, err
	}
	var since uint64
	initialEvents := options != nil && options.SendInitialEvents != nil && *options.SendInitialEvents
	if options != nil && options.ResourceVersion != "" && !initialEvents {
		if since, err = strconv.ParseUint(options.ResourceVersion, 10, 64); err != nil {
			return nil, apierrors.NewBadRequest("resourceVersion " + options.ResourceVersion + " is not one of this API's")
		}
	}
	f := &follower{user: u, labels: lsel, fields: fsel, since: since, events: make(chan watch.Event, 100)}
	w := watch.NewProxyWatcher(f.events)
	f.stop = w.StopChan()
	reg, err := s.Changes.AddEventHandler(f.handler())
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	// The bookmark that ends the initial events goes to clients that ask
	// for bookmarks (watch-list clients); a plain watch from "0" gets the
	// initial events alone, as from the API server's own watch cache.
	bookmark := initialEvents && options.AllowWatchBookmarks
	go func() {
		if bookmark {
			f.bookmarkWhenSynced(ctx, reg)
		}
		select {
		case <-f.stop:
		case <-ctx.Done():
			w.Stop()
		}
		_ = s.Changes.RemoveEventHandler(reg)
	}()
	return w, nil
}

// follower turns one watch's share of the Project events into the user's.
type follower struct {
	user   user.Info
	labels labels.Selector
	fields fields.Selector
	since  uint64
	events chan watch.Event
	stop   <-chan struct{}
	// newest is the highest resourceVersion seen, for the bookmark.
	newest atomic.Uint64
}

func (f *follower) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*tenancyv1.Project); ok && f.fresh(p) {
				if role, ok := f.sees(p); ok {
					f.send(watch.Added, View(p, role))
				}
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*tenancyv1.Project)
			p, ok2 := newObj.(*tenancyv1.Project)
			if !ok1 || !ok2 || !f.fresh(p) {
				return
			}
			_, before := f.sees(old)
			role, now := f.sees(p)
			switch {
			case now && before:
				f.send(watch.Modified, View(p, role))
			case now:
				f.send(watch.Added, View(p, role))
			case before:
				f.send(watch.Deleted, View(p, ""))
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*tenancyv1.Project); ok {
				if role, ok := f.sees(p); ok {
					f.send(watch.Deleted, View(p, role))
				}
			}
		},
	}
}

// fresh says whether the event is newer than where the watch starts, and
// records the newest resourceVersion.
func (f *follower) fresh(p *tenancyv1.Project) bool {
	rv := resourceVersion(p)
	for {
		seen := f.newest.Load()
		if rv <= seen || f.newest.CompareAndSwap(seen, rv) {
			break
		}
	}
	return rv > f.since
}

// sees is the user's role in the Project, when it is theirs and selected.
func (f *follower) sees(p *tenancyv1.Project) (accessv1.Role, bool) {
	role, ok := RoleOf(p, f.user)
	if !ok || !f.labels.Matches(labels.Set(p.Labels)) || !f.fields.Matches(fields.Set{"metadata.name": p.Name}) {
		return "", false
	}
	return role, true
}

func (f *follower) send(t watch.EventType, obj *accessv1.MyProject) {
	select {
	case f.events <- watch.Event{Type: t, Object: obj}:
	case <-f.stop:
	}
}

// bookmarkWhenSynced ends the initial events with the bookmark that
// watch-list clients wait for, once the handler has been given every
// Project the cache holds.
func (f *follower) bookmarkWhenSynced(ctx context.Context, reg toolscache.ResourceEventHandlerRegistration) {
	for !reg.HasSynced() {
		select {
		case <-ctx.Done():
			return
		case <-f.stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	mark := &accessv1.MyProject{ObjectMeta: metav1.ObjectMeta{
		ResourceVersion: strconv.FormatUint(f.newest.Load(), 10),
		Annotations:     map[string]string{metav1.InitialEventsAnnotationKey: "true"},
	}}
	f.send(watch.Bookmark, mark)
}
