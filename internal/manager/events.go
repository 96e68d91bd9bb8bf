package manager

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
)

// EventRecorder returns the recorder of the events an operator writes about
// the objects it serves (DomainCreated, Retained, NamespaceCreated, …). It
// writes core/v1 Events through client-go's record package rather than the
// manager's events.k8s.io recorder, for memory: that recorder's broadcaster
// keeps a copy of every event it sent for six to twelve minutes (to turn
// repeats into a series), so an operator's first pass over 10,000 objects
// held 10,000 to 20,000 events, 9 to 17 MiB of its live heap
// (docs/benchmarks.md). The record package's correlator keeps least
// recently used caches of small records instead, whatever the number of
// objects, and it still folds repeats into one Event with a count and
// rate-limits a runaway object (25 events, then one each five minutes).
// Those caches hold eventLRU records each (client-go's default is 4,096:
// 8 to 12 MiB of a pages operator's live heap once 10,000 sites had each
// had their events).
//
// What users read is the same: an Event in the object's namespace naming
// it, with the type, reason and note (kubectl describe and kubectl events
// show them, through either API). The action and the related object of
// events.k8s.io are not written: the reason says the action, and where a
// caller names a related object (a Project's namespace) the note names it
// too.
//
// The broadcaster runs on every replica (a standby records nothing) and is
// shut down when the manager stops.
func EventRecorder(mgr ctrl.Manager, component string) (events.EventRecorder, error) {
	kube, err := kubernetes.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("event client: %w", err)
	}
	rec, b := newEventRecorder(kube.CoreV1(), mgr.GetScheme(), component)
	if err := mgr.Add(shutdown{b}); err != nil {
		b.Shutdown()
		return nil, err
	}
	return rec, nil
}

// eventLRU is how many objects' records the correlator keeps: the objects
// with the most recent events. An object that keeps failing keeps its
// record, so its repeats still fold and its rate limit holds; an object
// quiet for the last eventLRU objects' events starts afresh, which costs
// it at most a new Event where a count would have grown.
const eventLRU = 1024

// newEventRecorder starts a broadcaster writing to core's Events and
// returns a recorder on it.
func newEventRecorder(core typedcorev1.EventsGetter, scheme *runtime.Scheme, component string) (events.EventRecorder, record.EventBroadcaster) {
	b := record.NewBroadcaster(record.WithCorrelatorOptions(record.CorrelatorOptions{LRUCacheSize: eventLRU}))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: core.Events("")})
	return coreEvents{b.NewRecorder(scheme, corev1.EventSource{Component: component})}, b
}

// coreEvents is a record.EventRecorder behind the events.EventRecorder
// interface the reconcilers take.
type coreEvents struct{ rec record.EventRecorder }

func (c coreEvents) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	c.rec.Eventf(regarding, eventtype, reason, note, args...)
}

// shutdown stops the broadcaster's goroutines when the manager stops, on
// every replica.
type shutdown struct{ b record.EventBroadcaster }

func (s shutdown) Start(ctx context.Context) error {
	<-ctx.Done()
	s.b.Shutdown()
	return nil
}

func (shutdown) NeedLeaderElection() bool { return false }
