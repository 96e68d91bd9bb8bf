package controllers

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/pkg/apis/externaldns"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
	"sigs.k8s.io/external-dns/registry"
	"sigs.k8s.io/external-dns/registry/txt"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/sources"
)

// zoneRequest is the one key of the zone controller: every change of a
// source or a claim asks for the same whole-zone sync, so changes that
// arrive together are written together.
var zoneRequest = reconcile.Request{}

// ZoneReconciler keeps the zone true to the hostnames this cluster holds:
// it builds the desired endpoints from the source objects and the hub's
// claims, reads the records through external-dns's TXT registry (owner id =
// the cluster's name, so records of other owners are never changed), plans
// with the sync policy and applies the changes through the provider.
//
// The zone is read once at start and then again every Resync (drift repair),
// after a failed write, sooner while a conflict waits, and before records
// are created on a new name; between reads the registry's cache, kept up
// to date with the operator's own writes, stands in for it, so most events
// cost no zone transfer.
type ZoneReconciler struct {
	// Local reads source objects from the member cluster's cache.
	Local client.Reader
	// Claims reads this cluster's claims from the hub cache.
	Claims client.Reader
	// Kinds are the source kinds this cluster serves.
	Kinds []sources.Source
	// Provider writes the zone.
	Provider edprovider.Provider
	// OwnershipFirst writes the ownership records of new record sets
	// before the record sets; it needs a provider for which creating a
	// record that exists is harmless (rfc2136, pdns; not inmemory).
	OwnershipFirst bool
	// Zones are the zones written to; names outside are not published.
	Zones []string
	// Cluster is this cluster's name: claim holder and registry owner id.
	Cluster string
	// DefaultTargets are the cluster's ingress addresses, for sources whose
	// status names none.
	DefaultTargets []string
	// Parents are the served kinds whose objects others attach to (the
	// Gateway API's Gateway, whose addresses HTTPRoutes point at).
	Parents []sources.Source
	// TTL of records whose source gives none.
	TTL time.Duration
	// Batch is the shortest time between two syncs driven by events.
	Batch time.Duration
	// Resync is how often the zone is read to repair drift.
	Resync time.Duration
	// ConflictRetry is how soon the zone is read again while a hostname is
	// blocked by another owner's records.
	ConflictRetry time.Duration
	// NotClaimedGrace delays telling an object that its hostname is not
	// claimed (DefaultNotClaimedGrace).
	NotClaimedGrace time.Duration
	// Outcomes receives the result of each sync for the status controller.
	Outcomes *Outcomes
	// Changed is told the claims whose outcome changed.
	Changed chan<- event.TypedGenericEvent[string]
	// Recorder records events on source objects.
	Recorder events.EventRecorder

	mu       sync.Mutex
	registry registry.Registry
	// writer is the provider as the registry sees it.
	writer *skipWritten
	// readBy is when the zone is next read rather than taken from the
	// registry's cache.
	readBy   time.Time
	reported map[problemKey]string
	// read holds what each source object asked at its last resourceVersion.
	read map[types.UID]reading
	// lastSync is when the last sync ended (Unix nanoseconds).
	lastSync atomic.Int64
}

// reading is what one source object asked, at one resourceVersion.
type reading struct {
	resourceVersion string
	// seenAt is when this resourceVersion was first read.
	seenAt   time.Time
	wants    []Want
	problems []Problem
}

type problemKey struct {
	uid, host, reason string
}

// The source objects are read with the rights their files in
// internal/sources give.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// Reading this cluster's claims at the hub is in package hubrbac (the
// hub's role for this member's DNS identity), apart from this cluster's role.

// SetupWithManager watches the source kinds on the member and this
// cluster's claims at the hub; every event asks for a sync after Batch.
func (r *ZoneReconciler) SetupWithManager(mgr ctrl.Manager, hub cluster.Cluster) error {
	r.reported = map[problemKey]string{}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("dnszone").
		WithOptions(controller.Options{
			MaxConcurrentReconciles: 1,
			// A failed sync is retried from a second up to a minute apart.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, time.Minute),
		}).
		// Claim status is written by this operator and the releaser; only a
		// claim's creation, deletion or spec matters here.
		// The workers start once the stores hold every object (storeSynced).
		WatchesRawSource(syncedWhenStored(source.Kind(hub.GetCache(), &fleetv1.HostnameClaim{}, batch[*fleetv1.HostnameClaim](r),
			predicate.TypedGenerationChangedPredicate[*fleetv1.HostnameClaim]{}), hub.GetCache(), &fleetv1.HostnameClaim{})).
		// One sync at start even when nothing is there to watch: records
		// this cluster owns whose objects went while it was down are
		// removed, and the resync clock starts.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(zoneRequest)
			return nil
		}))
	for _, k := range slices.Concat(r.Kinds, r.Parents) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(k.Kind().GroupVersionKind)
		b = b.WatchesRawSource(syncedWhenStored(source.Kind[client.Object](mgr.GetCache(), u, batch[client.Object](r)), mgr.GetCache(), u))
	}
	return b.Complete(r)
}

// batch maps every event to the zone request. The first change after a
// quiet spell is synced at once; changes that follow within Batch of the
// last sync wait for the rest of it, so a burst is written together. While
// a sync runs, the queue folds every new event into one more sync.
func batch[T any](r *ZoneReconciler) handler.TypedEventHandler[T, reconcile.Request] {
	add := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if wait := r.Batch - time.Since(time.Unix(0, r.lastSync.Load())); wait > 0 {
			q.AddAfter(zoneRequest, wait)
			return
		}
		q.Add(zoneRequest)
	}
	return handler.TypedFuncs[T, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// The objects of the caches' first lists are read by the sync
			// at start, which runs once the stores hold them all; their
			// events, still being handed out while it runs (storeSynced),
			// would only ask for a second, empty sync right after it.
			if e.IsInInitialList {
				return
			}
			add(q)
		},
		UpdateFunc: func(_ context.Context, _ event.TypedUpdateEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q)
		},
		DeleteFunc: func(_ context.Context, _ event.TypedDeleteEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q)
		},
		GenericFunc: func(_ context.Context, _ event.TypedGenericEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q)
		},
	}
}

// Reconcile syncs the whole zone: desired state, current records, plan,
// writes, report; then schedules the next zone read.
func (r *ZoneReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.lastSync.Store(time.Now().UnixNano()) }()
	start := time.Now()

	published, problems, err := r.desired(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	problemsDue := r.reportProblems(problems)
	current, changes, err := r.planChanges(ctx, published)
	if readErr := (*zoneReadError)(nil); errors.As(err, &readErr) {
		r.publish(ctx, outcomesAfterFailure(published, r.Outcomes, readErr.Error()))
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	failed, applyErr := r.apply(ctx, changes)
	outcomes, conflicts := outcomesOf(published, current, changes, failed, r.Cluster)
	r.publish(ctx, outcomes)
	zoneSyncSeconds.WithLabelValues(r.Cluster).Observe(time.Since(start).Seconds())
	if applyErr != nil {
		return ctrl.Result{}, fmt.Errorf("writing the zone: %w", applyErr)
	}
	return ctrl.Result{RequeueAfter: r.next(conflicts, problemsDue)}, nil
}

// planChanges takes the current records, from the registry's cache or a
// zone read, and plans the changes towards what is published.
func (r *ZoneReconciler) planChanges(ctx context.Context, published []Published) ([]*endpoint.Endpoint, *plan.Changes, error) {
	var current []*endpoint.Endpoint
	var err error
	fresh := r.registry == nil || !time.Now().Before(r.readBy)
	if fresh {
		current, err = r.readZone(ctx)
	} else {
		current, err = r.registry.Records(ctx) // the cache
	}
	if err != nil {
		return nil, nil, err
	}
	var desired []*endpoint.Endpoint
	for _, p := range published {
		desired = append(desired, p.Endpoints...)
	}
	if desired, err = r.registry.AdjustEndpoints(desired); err != nil {
		return nil, nil, err
	}
	zoneRecordSets.WithLabelValues(r.Cluster).Set(float64(len(desired)))
	changes := r.plan(current, desired)
	if len(changes.Create) > 0 && !fresh {
		// A name is about to get records: the cache cannot know records
		// that others put in the zone since the last read, and a record
		// added beside them would mix two owners' answers. Look first.
		if current, err = r.readZone(ctx); err != nil {
			return nil, nil, err
		}
		changes = r.plan(current, desired)
	}
	return current, changes, nil
}

// apply writes the changes through the registry, which adds and removes
// the ownership records with them. When the DNS server refuses the batch
// (PowerDNS refuses a whole PATCH for one record set it will not take: a
// CNAME beside other data, say), each hostname's changes are written on
// their own, so that one refused record set holds up nobody else's; it
// returns the error of each hostname whose changes still failed.
func (r *ZoneReconciler) apply(ctx context.Context, changes *plan.Changes) (map[string]error, error) {
	if !changes.HasChanges() {
		return nil, nil
	}
	err := r.applyOnce(ctx, changes)
	if err == nil {
		return nil, nil
	}
	// What reached the zone is unknown: read it again next time.
	defer func() { r.registry = nil }()
	groups := changesByName(changes)
	failed := map[string]error{}
	if len(groups) == 1 {
		for name := range groups {
			failed[name] = err
		}
		return failed, err
	}
	names := slices.Sorted(maps.Keys(groups))
	for _, name := range names {
		if gerr := r.applyOnce(ctx, groups[name]); gerr != nil {
			failed[name] = gerr
		}
	}
	ctrl.LoggerFrom(ctx).Info("the DNS server refused a batch; wrote each hostname on its own", "hostnames", len(names), "refused", len(failed), "error", err)
	if len(failed) == 0 {
		return nil, nil
	}
	first := names[slices.IndexFunc(names, func(n string) bool { return failed[n] != nil })]
	return failed, fmt.Errorf("the DNS server did not take the records of %d of %d hostname(s), %s first: %w", len(failed), len(names), first, failed[first])
}

// changesByName splits changes by the hostname they are for.
func changesByName(c *plan.Changes) map[string]*plan.Changes {
	out := map[string]*plan.Changes{}
	group := func(ep *endpoint.Endpoint) *plan.Changes {
		name := recordName(ep)
		if out[name] == nil {
			out[name] = &plan.Changes{}
		}
		return out[name]
	}
	for _, ep := range c.Create {
		g := group(ep)
		g.Create = append(g.Create, ep)
	}
	for _, ep := range c.UpdateOld {
		g := group(ep)
		g.UpdateOld = append(g.UpdateOld, ep)
	}
	for _, ep := range c.UpdateNew {
		g := group(ep)
		g.UpdateNew = append(g.UpdateNew, ep)
	}
	for _, ep := range c.Delete {
		g := group(ep)
		g.Delete = append(g.Delete, ep)
	}
	return out
}

// applyOnce writes one batch of changes.
func (r *ZoneReconciler) applyOnce(ctx context.Context, changes *plan.Changes) error {
	if r.OwnershipFirst && len(changes.Create) > 0 {
		// Ownership before data. The registry writes new record sets
		// first and their ownership records after; a crash in between
		// would leave record sets without an owner, which this cluster
		// would then take for someone else's and never touch again. The
		// other way round, a crash leaves ownership records alone, which
		// are harmless and used when the record sets follow.
		owners := ownershipRecords(changes.Create, r.Cluster)
		if err := r.Provider.ApplyChanges(ctx, &plan.Changes{Create: owners}); err != nil {
			zoneFailures.WithLabelValues(r.Cluster, "write").Inc()
			return err
		}
		r.writer.written = make(map[string]bool, len(owners))
		for _, o := range owners {
			r.writer.written[recordKey(o)] = true
		}
		defer func() { r.writer.written = nil }()
	}
	err := r.registry.ApplyChanges(ctx, changes)
	zoneChanges.WithLabelValues(r.Cluster).Add(float64(len(changes.Create) + len(changes.UpdateNew) + len(changes.Delete)))
	if err != nil {
		zoneFailures.WithLabelValues(r.Cluster, "write").Inc()
	}
	ctrl.LoggerFrom(ctx).V(1).Info("applied DNS changes", "create", len(changes.Create), "update", len(changes.UpdateNew), "delete", len(changes.Delete), "error", err)
	return err
}

// next is when the zone controller runs again without an event: at the
// next zone read, sooner while a conflict waits (another owner's records
// may go away when a hostname moves between clusters), or when a problem
// leaves its grace period.
func (r *ZoneReconciler) next(conflicts int, problemsDue time.Duration) time.Duration {
	if soon := time.Now().Add(r.ConflictRetry); conflicts > 0 && r.ConflictRetry > 0 && soon.Before(r.readBy) {
		r.readBy = soon
	}
	next := time.Until(r.readBy)
	if problemsDue > 0 && problemsDue < next {
		next = problemsDue
	}
	return max(next, time.Second)
}

// fronts returns the cluster's ingress fronts, and a fingerprint of the
// parents (Gateways) that changes whenever one of them does.
func (r *ZoneReconciler) fronts(ctx context.Context) (Fronts, string, error) {
	f := Fronts{Defaults: r.DefaultTargets}
	if len(r.Parents) == 0 {
		return f, "", nil
	}
	f.Parents = make(map[schema.GroupKind]map[string][]string, len(r.Parents))
	h := fnv.New64a()
	for _, k := range r.Parents {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.Kind().GroupVersionKind.GroupVersion().WithKind(k.Kind().GroupVersionKind.Kind + "List"))
		if err := r.Local.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return f, "", fmt.Errorf("listing %s: %w", k.Kind().Resource, err)
		}
		byName := make(map[string][]string, len(list.Items))
		for i := range list.Items {
			p := &list.Items[i]
			byName[p.GetNamespace()+"/"+p.GetName()] = sources.Addresses(k, p)
			fmt.Fprintf(h, "%s:%s/%s@%s;", k.Kind().Resource, p.GetNamespace(), p.GetName(), p.GetResourceVersion())
		}
		f.Parents[k.Kind().GroupKind()] = byName
	}
	return f, strconv.FormatUint(h.Sum64(), 36), nil
}

// plan computes the changes from current to desired with the sync policy,
// limited to the managed types, the zones and the records this cluster owns.
func (r *ZoneReconciler) plan(current, desired []*endpoint.Endpoint) *plan.Changes {
	return (&plan.Plan{
		Current:        txtInScope(current, desired, r.Cluster),
		Desired:        desired,
		Policies:       []plan.Policy{&plan.SyncPolicy{}},
		ManagedRecords: managedTypes,
		OwnerID:        r.Cluster,
		DomainFilter:   endpoint.MatchAllDomainFilters{endpoint.NewDomainFilter(r.Zones)},
	}).Calculate().Changes
}

// txtInScope leaves out of the current records the TXT records that are
// neither this cluster's nor at a name it writes TXT at: hand-made TXT
// records (SPF at a hostname, "_dmarc" beside it) are no concern of the
// operator's, and the plan would otherwise take them for a foreign owner
// of the name and publish nothing there.
func txtInScope(current, desired []*endpoint.Endpoint, owner string) []*endpoint.Endpoint {
	names := map[string]bool{}
	for _, ep := range desired {
		if ep.RecordType == endpoint.RecordTypeTXT {
			names[txtKey(ep)] = true
		}
	}
	out := make([]*endpoint.Endpoint, 0, len(current))
	for _, ep := range current {
		if ep.RecordType != endpoint.RecordTypeTXT || ep.Labels[endpoint.OwnerLabelKey] == owner || names[txtKey(ep)] {
			out = append(out, ep)
		}
	}
	return out
}

// desired reads every source object and this cluster's claims from the
// caches and decides what to publish.
func (r *ZoneReconciler) desired(ctx context.Context) ([]Published, []Problem, error) {
	fronts, fingerprint, err := r.fronts(ctx)
	if err != nil {
		return nil, nil, err
	}
	var wants []Want
	var problems []Problem
	seen := make(map[types.UID]reading, len(r.read))
	for _, k := range r.Kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.Kind().GroupVersionKind.GroupVersion().WithKind(k.Kind().GroupVersionKind.Kind + "List"))
		// Read only: the cache's objects are not copied.
		if err := r.Local.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return nil, nil, fmt.Errorf("listing %s: %w", k.Kind().Resource, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			// An object read before at the same resourceVersion (and with
			// the same Gateways) asks the same: reuse its reading.
			version := u.GetResourceVersion() + "/" + fingerprint
			m, ok := r.read[u.GetUID()]
			if !ok || m.resourceVersion != version {
				m.resourceVersion, m.seenAt = version, time.Now()
				m.wants, m.problems = wantsOf(k, u, fronts)
			}
			seen[u.GetUID()] = m
			wants = append(wants, m.wants...)
			problems = append(problems, m.problems...)
		}
	}
	r.read = seen
	claimList := &fleetv1.HostnameClaimList{}
	if err := r.Claims.List(ctx, claimList, client.UnsafeDisableDeepCopy); err != nil {
		return nil, nil, fmt.Errorf("listing claims: %w", err)
	}
	claims := make(map[string]*fleetv1.HostnameClaim, len(claimList.Items))
	for i := range claimList.Items {
		claims[claimList.Items[i].Name] = &claimList.Items[i]
	}
	published, notHeld := decide(wants, claims, Options{
		Cluster: r.Cluster, TTL: endpoint.TTL(r.TTL.Seconds()), InZones: inZones(r.Zones),
	})
	return published, append(problems, notHeld...), nil
}

// zoneReadError is a failed zone read, which Reconcile reports on the
// hostnames not yet registered.
type zoneReadError struct{ err error }

func (e *zoneReadError) Error() string { return "the DNS zone could not be read: " + e.err.Error() }
func (e *zoneReadError) Unwrap() error { return e.err }

// readZone reads the zone through a new registry, whose cache then follows
// the operator's writes until the next read.
func (r *ZoneReconciler) readZone(ctx context.Context) ([]*endpoint.Endpoint, error) {
	reg, err := r.newRegistry()
	if err != nil {
		return nil, err
	}
	// The old registry's cache (the whole zone, as endpoints) goes before
	// the new one is read, not after: at 10,000 hostnames holding both
	// at once was some 10 MiB of the operator's peak. A failed read leaves
	// no registry either way.
	r.registry = nil
	current, err := reg.Records(ctx)
	if err != nil {
		zoneFailures.WithLabelValues(r.Cluster, "read").Inc()
		return nil, &zoneReadError{err: err}
	}
	r.registry = reg
	r.readBy = time.Now().Add(r.Resync)
	zoneReads.WithLabelValues(r.Cluster).Inc()
	return current, nil
}

// inZones reports whether a normalized hostname is inside one of the zones.
// Hostnames are normalized already, so a suffix test does what the
// library's domain filter does, without normalizing each name again.
func inZones(zones []string) func(string) bool {
	suffixes := make([]string, 0, len(zones))
	for _, z := range zones {
		suffixes = append(suffixes, strings.ToLower(strings.TrimSuffix(z, ".")))
	}
	return func(host string) bool {
		for _, z := range suffixes {
			if host == z || strings.HasSuffix(host, "."+z) {
				return true
			}
		}
		return false
	}
}

// newRegistry makes a TXT registry with an empty cache, so that its next
// Records reads the zone. Its cache then follows the operator's writes
// until the next one is made.
func (r *ZoneReconciler) newRegistry() (registry.Registry, error) {
	cfg := externaldns.NewConfig()
	cfg.TXTOwnerID = r.Cluster
	cfg.TXTCacheInterval = 100 * 365 * 24 * time.Hour
	cfg.TXTPrefix = txtPrefix
	cfg.TXTWildcardReplacement = txtWildcardReplacement
	cfg.ManagedDNSRecordTypes = managedTypes
	if r.writer == nil {
		r.writer = &skipWritten{Provider: r.Provider}
	}
	return txt.New(cfg, r.writer)
}

// publish hands outcomes to the status controller and wakes it for the
// claims whose outcome changed.
func (r *ZoneReconciler) publish(ctx context.Context, outcomes map[string]Outcome) {
	first := !r.Outcomes.Synced()
	changed := r.Outcomes.Replace(outcomes)
	if first {
		// Claims no source uses get their status too, once. Read only, and
		// each claim told once: at 10,000 claims, copying the list and
		// telling every claim twice cost the cores BIND needs just then.
		list := &fleetv1.HostnameClaimList{}
		if err := r.Claims.List(ctx, list, client.UnsafeDisableDeepCopy); err == nil {
			told := make(map[string]bool, len(changed))
			for _, name := range changed {
				told[name] = true
			}
			for i := range list.Items {
				if name := list.Items[i].Name; !told[name] {
					changed = append(changed, name)
				}
			}
		}
	}
	for _, name := range changed {
		select {
		case r.Changed <- event.TypedGenericEvent[string]{Object: name}:
		case <-ctx.Done():
			// Shutting down: the status controller reports on every claim
			// after the next start's first sync.
			return
		}
	}
}

// DefaultNotClaimedGrace is how long an object's new hostname may go
// without a claim in the hub cache before the object is told: admission
// reserves the claim before the object is stored, but the claim's watch
// event may reach this operator after the object's.
const DefaultNotClaimedGrace = 15 * time.Second

// reportProblems records an event on each object with a new problem; a
// problem already reported is not repeated until it has gone away. It
// returns how soon a problem still in its grace period is due.
func (r *ZoneReconciler) reportProblems(problems []Problem) time.Duration {
	seen := map[problemKey]bool{}
	var due time.Duration
	for _, p := range problems {
		k := problemKey{uid: p.Source.UID, host: p.Host, reason: p.Reason}
		if p.Reason == "NotClaimed" {
			if left := r.NotClaimedGrace - time.Since(r.read[types.UID(p.Source.UID)].seenAt); left > 0 {
				if due == 0 || left < due {
					due = left
				}
				continue
			}
		}
		seen[k] = true
		if r.reported[k] == p.Message {
			continue
		}
		r.reported[k] = p.Message
		r.Recorder.Eventf(p.Source.object(), nil, corev1.EventTypeWarning, "DNS"+p.Reason, "PublishDNS", "%s", p.Message)
	}
	for k := range r.reported {
		if !seen[k] {
			delete(r.reported, k)
		}
	}
	return due
}
