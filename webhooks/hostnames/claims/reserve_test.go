package claims

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/manager"
	"github.com/atrium-dev/atrium/internal/sources"
)

func host(t *testing.T, s string) hostname.Hostname {
	t.Helper()
	h, err := hostname.Normalize(s, hostname.Options{AllowWildcard: true})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func existing(h hostname.Hostname, cluster, ns string, srcs ...fleetv1.SourceRef) *fleetv1.HostnameClaim {
	return &fleetv1.HostnameClaim{
		ObjectMeta: metav1.ObjectMeta{Name: hostname.ClaimName(h), Labels: map[string]string{fleetv1.ClusterLabel: cluster}},
		Spec:       fleetv1.HostnameClaimSpec{Hostname: h.Name, Cluster: cluster, Namespace: ns, Sources: srcs},
	}
}

func TestReserve(t *testing.T) {
	h := func(t *testing.T) hostname.Hostname { return host(t, "www.example.org") }
	src := fleetv1.SourceRef{Group: "networking.k8s.io", Kind: "Ingress", Name: "site", UID: "u1"}
	other := fleetv1.SourceRef{Group: "networking.k8s.io", Kind: "Ingress", Name: "acme-solver", UID: "u2"}
	for _, tc := range []struct {
		name     string
		claims   func(t *testing.T) []client.Object
		dryRun   bool
		hubDown  bool
		hubSlow  string // a call ("get", "update") that ends by the request's deadline
		host     string // www.example.org unless set
		want     string // "", "held", "unavailable"
		sources  int    // sources on the claim afterwards; -1: no claim
		holderNS string
	}{
		{name: "new hostname is claimed", want: "", sources: 1, holderNS: "web"},
		{name: "dry run claims nothing", dryRun: true, want: "", sources: -1},
		{name: "same namespace adds its source", claims: func(t *testing.T) []client.Object {
			return []client.Object{existing(h(t), "c1", "web", other)}
		}, want: "", sources: 2, holderNS: "web"},
		{name: "known source is not written again", claims: func(t *testing.T) []client.Object {
			return []client.Object{existing(h(t), "c1", "web", src)}
		}, want: "", sources: 1, holderNS: "web"},
		{name: "another namespace of the cluster is refused", claims: func(t *testing.T) []client.Object {
			return []client.Object{existing(h(t), "c1", "shop", other)}
		}, want: "held", sources: 1, holderNS: "shop"},
		{name: "another cluster is refused", claims: func(t *testing.T) []client.Object {
			return []client.Object{existing(h(t), "c2", "web", other)}
		}, want: "held", sources: 1, holderNS: "web"},
		{name: "dry run still sees the holder", dryRun: true, claims: func(t *testing.T) []client.Object {
			return []client.Object{existing(h(t), "c2", "web", other)}
		}, want: "held", sources: 1, holderNS: "web"},
		{name: "hub down refuses a new hostname", hubDown: true, want: "unavailable", sources: -1},
		// A hub that times out while the holder is read is no answer: the
		// hostname another tenant holds must not pass (client-go's
		// RetryOnConflict returns nil for a context's error).
		{name: "hub timing out on the holder's read refuses", hubSlow: "get", claims: func(t *testing.T) []client.Object {
			return []client.Object{existing(h(t), "c2", "web", other)}
		}, want: "unavailable", sources: 1, holderNS: "web"},
		{name: "hub timing out on a wildcard's confirmation refuses and withdraws", hubSlow: "update", host: "*.example.org",
			want: "unavailable", sources: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []client.Object
			if tc.claims != nil {
				objs = tc.claims(t)
			}
			b := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(objs...)
			// Calls that end by the request's deadline, for the Reserver
			// only; the test reads what is stored through hub.
			deadline := fmt.Errorf("Get \"https://hub\": %w", context.DeadlineExceeded)
			var slow interceptor.Funcs
			switch tc.hubSlow {
			case "get":
				slow.Get = func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
					return deadline
				}
			case "update":
				// The fake client stamps no creation time; the API server
				// does, and confirm reads it.
				slow.Create = func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					obj.SetCreationTimestamp(metav1.Now())
					return c.Create(ctx, obj, opts...)
				}
				slow.Update = func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
					return deadline
				}
			}
			if tc.host != "" {
				h = func(t *testing.T) hostname.Hostname { return host(t, tc.host) }
			}
			if tc.hubDown {
				b = b.WithInterceptorFuncs(interceptor.Funcs{
					Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
						return errors.New("connection refused")
					},
				})
			}
			hub := b.Build()
			r := &Reserver{Hub: interceptor.NewClient(hub, slow), Index: hub, Cluster: "c1"}
			err := r.Reserve(context.Background(), h(t), Holder{Namespace: "web"}, src, tc.dryRun)
			var held *HeldError
			var down *UnavailableError
			switch tc.want {
			case "":
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case "held":
				if !errors.As(err, &held) || held.Holder.Namespace != tc.holderNS {
					t.Fatalf("err = %v, want held by %s", err, tc.holderNS)
				}
			case "unavailable":
				if !errors.As(err, &down) {
					t.Fatalf("err = %v, want unavailable", err)
				}
			}
			c := &fleetv1.HostnameClaim{}
			gerr := hub.Get(context.Background(), client.ObjectKey{Name: hostname.ClaimName(h(t))}, c)
			if tc.sources < 0 {
				if gerr == nil {
					t.Fatalf("claim written: %+v", c.Spec)
				}
				return
			}
			if gerr != nil || len(c.Spec.Sources) != tc.sources || c.Spec.Namespace != tc.holderNS {
				t.Fatalf("claim %+v, %v", c.Spec, gerr)
			}
			if tc.want == "" && c.Labels[fleetv1.ClusterLabel] != "c1" {
				t.Fatalf("labels %v", c.Labels)
			}
		})
	}
}

func TestReleaserKeepsLiveSourcesAndGracePeriods(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := host(t, "www.example.org")
	ing := func(name, uid, hostName string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
			"metadata": map[string]any{"name": name, "namespace": "web", "uid": uid},
			"spec":     map[string]any{"rules": []any{map[string]any{"host": hostName}}},
		}}
		return u
	}
	ref := func(name, uid string, age time.Duration) fleetv1.SourceRef {
		return fleetv1.SourceRef{Group: "networking.k8s.io", Kind: "Ingress", Name: name, UID: uid, ReservedAt: metav1.NewTime(now.Add(-age))}
	}
	local := fake.NewClientBuilder().WithScheme(manager.Scheme()).WithObjects(
		ing("live", "u-live", "www.example.org"),
		ing("moved", "u-moved", "other.example.org"),
		ing("replaced", "u-new", "www.example.org"),
	).Build()
	ingress, _ := sources.For(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"})
	r := &Releaser{Local: local, Cluster: "c1", Grace: time.Minute, Kinds: []sources.Source{ingress}, now: func() time.Time { return now }}
	claim := existing(h, "c1", "web",
		ref("live", "u-live", time.Hour),             // exists, same UID, has the host: kept
		ref("moved", "u-moved", time.Hour),           // no longer has the host: dropped
		ref("replaced", "u-old", time.Hour),          // another object under the name: dropped
		ref("gone", "u-gone", time.Hour),             // deleted long ago: dropped
		ref("in-flight", "u-flight", 10*time.Second), // not persisted yet, within grace: kept
	)
	keep, live, wait, err := r.liveSources(context.Background(), claim, h)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range keep {
		names = append(names, s.Name)
	}
	if len(names) != 2 || names[0] != "live" || names[1] != "in-flight" {
		t.Fatalf("kept %v", names)
	}
	if live != 1 {
		t.Fatalf("%d live sources, want 1", live)
	}
	if c := readyCondition(claim, live); c.Status != metav1.ConditionTrue || c.Reason != "InUse" {
		t.Fatalf("condition %+v", c)
	}
	if c := readyCondition(claim, 0); c.Status != metav1.ConditionFalse || c.Reason != "AwaitingObject" {
		t.Fatalf("condition %+v", c)
	}
	if wait != 50*time.Second {
		t.Fatalf("next look in %s, want 50s", wait)
	}
}
