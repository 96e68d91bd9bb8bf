// Package migrate moves every stored object of a CRD to the CRD's storage
// version, then records that in the CRD's status.storedVersions.
//
// Why: when an API moves on (v1alpha1 to v1alpha2), the CRD names the new
// version `storage: true`, but the API server rewrites an object in etcd
// only when something writes it. Objects nobody touches stay stored in the
// old version, and the old version cannot be removed from the CRD while
// status.storedVersions still lists it (the API server refuses). The
// operator that owns a kind is the one that knows when its CRD changes, so
// each one runs a Migrator for its own CRDs, as the leader: it rewrites
// each object unchanged (an update with the object's resourceVersion, which
// the API server stores in the current storage version), and only when
// every object is rewritten sets storedVersions to the storage version
// alone. This is what kube-storage-version-migrator does for a whole
// cluster, kept to one component's kinds.
//
// A rewrite changes neither spec nor status nor generation; it does change
// resourceVersion, so the owning controllers see an update event and find
// nothing to do. Admission webhooks see an UPDATE whose old and new objects
// are equal.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Defaults of a Migrator.
const (
	// DefaultResync is how often a CRD is read again even when its watch
	// says nothing (a watch can end silently; a get is cheap).
	DefaultResync = 10 * time.Minute
	// pageSize is how many objects one list call returns.
	pageSize = 250
	// conflictRetries is how often one object's rewrite is tried again
	// after a conflict (someone else wrote it in between; their write may
	// have been served by an API server that did not yet know the new
	// storage version, so it is rewritten once more rather than trusted).
	conflictRetries = 5
)

// Migrator keeps the named CRDs' stored objects at their storage version.
type Migrator struct {
	// CRDs are the names of the CRDs to look after
	// (projects.tenancy.atrium.dev).
	CRDs []string
	// Client reads, watches and updates the CRDs (get, list and watch by
	// name, update of customresourcedefinitions/status by name): it must
	// not be a cached client.
	Client client.WithWatch
	// Dynamic lists and rewrites the objects in whatever version the CRD
	// stores, which the binary's own scheme may not know.
	Dynamic dynamic.Interface
	// Resync is how often each CRD is read again without a watch event;
	// DefaultResync when zero.
	Resync time.Duration
	Log    logr.Logger
}

// Add runs a Migrator for crds in mgr, as the leader only (two replicas
// rewriting the same objects would only cost writes, but the leader is the
// one whose controllers own them).
func Add(mgr manager.Manager, crds ...string) error {
	m, err := New(mgr.GetConfig(), mgr.GetScheme(), crds...)
	if err != nil {
		return err
	}
	m.Log = mgr.GetLogger().WithName("storage-migration")
	return mgr.Add(m)
}

// New is a Migrator for crds talking to the API server of cfg.
// scheme must know apiextensions.k8s.io/v1 (manager.Scheme does).
func New(cfg *rest.Config, scheme *runtime.Scheme, crds ...string) (*Migrator, error) {
	if !scheme.IsGroupRegistered(apiextensionsv1.GroupName) {
		return nil, fmt.Errorf("storage migration: the scheme lacks %s", apiextensionsv1.GroupName)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Migrator{CRDs: crds, Client: c, Dynamic: d, Log: logr.Discard()}, nil
}

// NeedLeaderElection makes the manager run the Migrator on the leader only.
func (m *Migrator) NeedLeaderElection() bool { return true }

// Start follows every CRD until ctx ends.
func (m *Migrator) Start(ctx context.Context) error {
	done := make(chan struct{}, len(m.CRDs))
	for _, name := range m.CRDs {
		go func() {
			defer func() { done <- struct{}{} }()
			m.follow(ctx, name)
		}()
	}
	for range m.CRDs {
		<-done
	}
	return nil
}

// follow migrates one CRD whenever it needs it: at start, at every change
// of the CRD, and every Resync. Failures are retried with a growing pause
// (a second up to a minute); nothing is given up.
func (m *Migrator) follow(ctx context.Context, name string) {
	pause := time.Second
	for ctx.Err() == nil {
		rv, err := m.Once(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.Log.Error(err, "storage migration failed; trying again", "crd", name, "in", pause)
			sleep(ctx, pause)
			pause = min(2*pause, time.Minute)
			continue
		}
		pause = time.Second
		m.waitForChange(ctx, name, rv)
	}
}

// waitForChange returns when the CRD changes after resourceVersion rv, when
// its watch ends, or after Resync.
func (m *Migrator) waitForChange(ctx context.Context, name, rv string) {
	resync := m.Resync
	if resync <= 0 {
		resync = DefaultResync
	}
	ctx, cancel := context.WithTimeout(ctx, resync)
	defer cancel()
	// A watch of one name: RBAC grants list and watch with a
	// metadata.name field selector to roles that name the resource.
	w, err := m.Client.Watch(ctx, &apiextensionsv1.CustomResourceDefinitionList{}, &client.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name),
		Raw:           &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true},
	})
	if err != nil {
		m.Log.V(1).Info("cannot watch the CRD; reading it again later", "crd", name, "error", err.Error())
		sleep(ctx, time.Minute)
		return
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type != watch.Bookmark {
				return
			}
		}
	}
}

// Once migrates the CRD if its status lists a stored version other than
// its storage version, and returns the resourceVersion of the CRD it
// last read. It is safe to run at any time and from several processes:
// every step is a rewrite that changes nothing or a conditional update.
func (m *Migrator) Once(ctx context.Context, name string) (string, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := m.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		return "", fmt.Errorf("reading CRD %s: %w", name, err)
	}
	storage := StorageVersion(crd)
	if storage == "" {
		return "", fmt.Errorf("CRD %s has no storage version", name)
	}
	if slices.Equal(crd.Status.StoredVersions, []string{storage}) {
		return crd.ResourceVersion, nil
	}
	log := m.Log.WithValues("crd", name, "from", crd.Status.StoredVersions, "to", storage)
	log.Info("migrating stored objects to the storage version")
	gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: storage, Resource: crd.Spec.Names.Plural}
	n, err := m.rewriteAll(ctx, gvr)
	if err != nil {
		return "", fmt.Errorf("CRD %s: %d objects rewritten as %s, then: %w", name, n, storage, err)
	}
	// Conditional on the CRD as read before the rewrite: had its storage
	// version changed since, this fails and the next pass starts over.
	crd.Status.StoredVersions = []string{storage}
	if err := m.Client.Status().Update(ctx, crd); err != nil {
		return "", fmt.Errorf("CRD %s: %d objects rewritten as %s, then recording it: %w", name, n, storage, err)
	}
	log.Info("stored objects migrated", "objects", n)
	return crd.ResourceVersion, nil
}

// rewriteAll rewrites every object of gvr, a page at a time, and returns
// how many it rewrote. An object it cannot rewrite (refused by validation
// or admission) does not stop the others; the error names each one, and
// storedVersions is then left alone.
func (m *Migrator) rewriteAll(ctx context.Context, gvr schema.GroupVersionResource) (int, error) {
	res := m.Dynamic.Resource(gvr)
	var (
		n     int
		fails []string
		cont  string
	)
	for {
		list, err := res.List(ctx, metav1.ListOptions{Limit: pageSize, Continue: cont})
		if err != nil {
			return n, fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
		}
		for i := range list.Items {
			err := m.rewrite(ctx, res, &list.Items[i])
			switch {
			case err == nil:
				n++
			case ctx.Err() != nil:
				return n, ctx.Err()
			default:
				fails = append(fails, fmt.Sprintf("%s: %v", key(&list.Items[i]), err))
			}
		}
		if cont = list.GetContinue(); cont == "" {
			break
		}
	}
	if len(fails) > 0 {
		return n, errors.New("not rewritten: " + strings.Join(fails, "; "))
	}
	return n, nil
}

// rewrite writes one object back unchanged; after a conflict it reads the
// object again and writes that. An object deleted meanwhile needs nothing.
func (m *Migrator) rewrite(ctx context.Context, res dynamic.NamespaceableResourceInterface, obj *unstructured.Unstructured) error {
	for attempt := 0; ; attempt++ {
		var r dynamic.ResourceInterface = res
		if ns := obj.GetNamespace(); ns != "" {
			r = res.Namespace(ns)
		}
		_, err := r.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "atrium-storage-migration"})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err) && attempt < conflictRetries:
			fresh, gerr := r.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(gerr) {
				return nil
			}
			if gerr != nil {
				return gerr
			}
			obj = fresh
		default:
			return err
		}
	}
}

// StorageVersion is the name of the CRD's version marked storage: true.
func StorageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return ""
}

func key(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return ns + "/" + o.GetName()
	}
	return o.GetName()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
