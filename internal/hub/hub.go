package hub

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
)

// Connect connects a member to the hub: a cluster whose cache holds this
// member's claims only (add it to the manager), and a direct client with a
// short timeout for writes, so a slow hub fails a request well within an
// API server's webhook timeout. The hostnames webhook decides admissions
// with both; the DNS operator reads claims from the cache and reports on
// them through the client. The rate limit of cfg (see Limits) applies to
// both; the timeout only to the direct client, never to the cache's watches.
func Connect(cfg *rest.Config, clusterName string, timeout time.Duration) (cluster.Cluster, client.Client, error) {
	sel := labels.SelectorFromSet(labels.Set{fleetv1.ClusterLabel: clusterName})
	hub, err := cluster.New(cfg, func(o *cluster.Options) {
		o.Scheme = manager.Scheme()
		o.Cache.ByObject = map[client.Object]cache.ByObject{&fleetv1.HostnameClaim{}: {Label: sel}}
		o.Cache.DefaultTransform = compactClaims
	})
	if err != nil {
		return nil, nil, fmt.Errorf("hub: %w", err)
	}
	live, err := client.New(directConfig(cfg, timeout), client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, nil, fmt.Errorf("hub: %w", err)
	}
	return hub, live, nil
}

// directConfig is the config of the direct client: cfg's rate limit, and a
// timeout on every request.
func directConfig(cfg *rest.Config, timeout time.Duration) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Timeout = timeout
	return out
}

// compactClaims is the hub cache's transform. A member caches a claim for
// every hostname it holds, so each claim's size counts: its managedFields
// (one entry per writer: admission, the releaser's status, the DNS
// operator's) are a good part of it and nothing reads them, so they go;
// and the strings that thousands of claims repeat (label keys and values,
// the cluster, namespace and Project, the sources' kinds, the conditions'
// types, reasons and messages) are interned, kept once, and so are whole
// sets of labels (labelSets). Nothing else changes: the cache's copies are
// what the hub holds.
func compactClaims(in any) (any, error) {
	out, err := stripManagedFields(in)
	c, ok := out.(*fleetv1.HostnameClaim)
	if err != nil || !ok {
		return out, err
	}
	if c.Labels != nil {
		c.Labels = claimLabels.shared(c.Labels)
	}
	if c.Spec.Hostname == c.Name {
		c.Spec.Hostname = c.Name
	}
	c.Spec.Cluster, c.Spec.Namespace, c.Spec.Project = intern(c.Spec.Cluster), intern(c.Spec.Namespace), intern(c.Spec.Project)
	for i := range c.Spec.Sources {
		src := &c.Spec.Sources[i]
		src.Group, src.Kind = intern(src.Group), intern(src.Kind)
	}
	for i := range c.Status.Conditions {
		cond := &c.Status.Conditions[i]
		cond.Type, cond.Reason, cond.Message = intern(cond.Type), intern(cond.Reason), intern(cond.Message)
		cond.Status = metav1.ConditionStatus(intern(string(cond.Status)))
	}
	return c, nil
}

var stripManagedFields = cache.TransformStripManagedFields()

// claimLabels are the sets of labels the hub cache's claims share.
var claimLabels = &labelSets{max: 4096}

// labelSets keeps one copy of each set of labels, for objects that carry
// the same set by the thousand: the claims of one namespace under one
// parent domain all carry the same cluster, namespace and domain labels,
// and a map costs about 330 bytes of a claim's 1.1 KiB. The copies are
// shared by the cache's objects, which nothing writes in place (a cache
// read returns a deep copy; the few readers that skip the copy only read).
// Once max sets are kept, the table starts afresh: what churns through
// many sets keeps the memory of at most max of them, and the objects that
// share a set dropped from the table keep it.
type labelSets struct {
	mu   sync.Mutex
	max  int
	sets map[string]map[string]string
}

// shared returns the kept copy of a set of labels, keys and values interned.
func (l *labelSets) shared(in map[string]string) map[string]string {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		// NUL is in no label key or value, so the key names one set.
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(in[k])
		b.WriteByte(0)
	}
	key := b.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if set, ok := l.sets[key]; ok {
		return set
	}
	set := make(map[string]string, len(in))
	for k, v := range in {
		set[intern(k)] = intern(v)
	}
	if l.sets == nil || len(l.sets) >= l.max {
		l.sets = map[string]map[string]string{}
	}
	l.sets[key] = set
	return set
}

// intern returns the one copy of s that every caller shares.
func intern(s string) string { return unique.Make(s).Value() }
