package server

import (
	"context"
	"testing"
	"time"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllertest"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

func withRV(p *tenancyv1.Project, rv string) *tenancyv1.Project {
	p = p.DeepCopy()
	p.ResourceVersion = rv
	return p
}

// next is the watch's next event, or fails after a second.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e := <-w.ResultChan():
		return e
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
	return watch.Event{}
}

func noEvent(t *testing.T, w watch.Interface) {
	t.Helper()
	select {
	case e := <-w.ResultChan():
		t.Fatalf("unexpected event %s %v", e.Type, e.Object)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestWatchFollowsTheUsersRoles(t *testing.T) {
	inf := controllertest.NewFakeInformer()
	s := &Storage{Changes: inf}
	ctx, cancel := context.WithCancel(genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "bob", Groups: []string{"devs"}}))
	defer cancel()
	w, err := s.Watch(ctx, &metainternalversion.ListOptions{ResourceVersion: "10"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	want := func(typ watch.EventType, name string, role accessv1.Role) {
		t.Helper()
		e := next(t, w)
		p, ok := e.Object.(*accessv1.MyProject)
		if e.Type != typ || !ok || p.Name != name || (typ != watch.Deleted && p.Role != role) {
			t.Fatalf("got %s %+v, want %s %s as %s", e.Type, e.Object, typ, name, role)
		}
	}
	viewer := project("lab", "alice", nil, nil, nil, userSubject("bob"))
	stranger := project("lab", "alice", nil, nil, nil, nil)
	member := project("lab", "alice", map[string]string{"x": "y"}, nil, groupSubject("devs"), nil)

	// What the list at 10 already showed is not sent again.
	inf.Add(withRV(viewer, "9"))
	noEvent(t, w)
	// Someone else's Project: nothing.
	inf.Add(withRV(project("other", "carol", nil, nil, nil, nil), "11"))
	noEvent(t, w)

	inf.Add(withRV(viewer, "12"))
	want(watch.Added, "lab", accessv1.RoleViewer)
	inf.Update(withRV(viewer, "12"), withRV(member, "13"))
	want(watch.Modified, "lab", accessv1.RoleMember)
	// Losing the last role is a deletion, for this user.
	inf.Update(withRV(member, "13"), withRV(stranger, "14"))
	want(watch.Deleted, "lab", "")
	inf.Update(withRV(stranger, "14"), withRV(stranger, "15"))
	noEvent(t, w)
	inf.Update(withRV(stranger, "15"), withRV(viewer, "16"))
	want(watch.Added, "lab", accessv1.RoleViewer)
	inf.Delete(withRV(viewer, "17"))
	want(watch.Deleted, "lab", accessv1.RoleViewer)
}

func TestWatchWithInitialEventsEndsThemWithABookmark(t *testing.T) {
	inf := controllertest.NewFakeInformer()
	s := &Storage{Changes: inf}
	ctx, cancel := context.WithCancel(genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "alice"}))
	defer cancel()
	w, err := s.Watch(ctx, &metainternalversion.ListOptions{SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true, ResourceVersion: "5"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// The informer replays what it holds, then says it has synced.
	inf.Add(withRV(project("a", "alice", nil, nil, nil, nil), "3"))
	inf.Add(withRV(project("b", "bob", nil, nil, nil, nil), "7"))
	inf.Synced()
	if e := next(t, w); e.Type != watch.Added || e.Object.(*accessv1.MyProject).Name != "a" {
		t.Fatalf("first event %s %+v", e.Type, e.Object)
	}
	e := next(t, w)
	mark, ok := e.Object.(*accessv1.MyProject)
	if e.Type != watch.Bookmark || !ok || mark.Annotations["k8s.io/initial-events-end"] != "true" || mark.ResourceVersion != "7" {
		t.Fatalf("want the initial-events bookmark at 7, got %s %+v", e.Type, e.Object)
	}
}

func TestWatchRefusesWhatItCannotServe(t *testing.T) {
	ctx := genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "alice"})
	if _, err := (&Storage{}).Watch(ctx, nil); err == nil {
		t.Fatal("a storage without an informer served a watch")
	}
	s := &Storage{Changes: controllertest.NewFakeInformer()}
	if _, err := s.Watch(ctx, &metainternalversion.ListOptions{ResourceVersion: "abc"}); err == nil {
		t.Fatal("a resourceVersion that is not this API's was accepted")
	}
	if _, err := s.Watch(context.Background(), nil); err == nil {
		t.Fatal("a watch without a user was served")
	}
}

// TestPlainWatchFromZeroGetsNoBookmark: a watch from "0" (which the API
// server turns into one with initial events) gets the current Projects and
// then changes, with no bookmark it did not ask for.
func TestPlainWatchFromZeroGetsNoBookmark(t *testing.T) {
	inf := controllertest.NewFakeInformer()
	s := &Storage{Changes: inf}
	ctx, cancel := context.WithCancel(genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: "alice"}))
	defer cancel()
	w, err := s.Watch(ctx, &metainternalversion.ListOptions{SendInitialEvents: ptr.To(true), ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	inf.Add(withRV(project("a", "alice", nil, nil, nil, nil), "3"))
	inf.Synced()
	if e := next(t, w); e.Type != watch.Added {
		t.Fatalf("first event %s %+v", e.Type, e.Object)
	}
	noEvent(t, w)
}
