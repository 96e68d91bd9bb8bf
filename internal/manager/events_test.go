package manager

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// An event reaches the object's namespace with what a user reads of it,
// and repeats of it fold into the one Event with a count rather than
// piling up.
func TestEventRecorderWritesCoreEvents(t *testing.T) {
	kube := fake.NewClientset()
	rec, b := newEventRecorder(kube.CoreV1(), Scheme(), "atrium-test")
	defer b.Shutdown()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "site", UID: "u-1"}}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "other", UID: "u-2"}}
	for range 3 {
		rec.Eventf(cm, other, corev1.EventTypeWarning, "CinderError", "Provision", "volume %s: %s", "v-1", "quota")
	}

	var got []corev1.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := kube.CoreV1().Events("team-a").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got = list.Items
		if len(got) == 1 && got[0].Count == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("%d events, want the three folded into one: %+v", len(got), got)
	}
	e := got[0]
	if e.InvolvedObject.Kind != "ConfigMap" || e.InvolvedObject.Name != "site" || e.InvolvedObject.UID != "u-1" {
		t.Errorf("involved object %+v, want the ConfigMap site", e.InvolvedObject)
	}
	if e.Type != corev1.EventTypeWarning || e.Reason != "CinderError" || e.Message != "volume v-1: quota" || e.Source.Component != "atrium-test" {
		t.Errorf("event %s/%s %q from %q, want Warning/CinderError \"volume v-1: quota\" from atrium-test", e.Type, e.Reason, e.Message, e.Source.Component)
	}
	if e.Count != 3 {
		t.Errorf("count %d, want 3", e.Count)
	}
}

// A tenant whose object floods events (a volume failing over and over)
// is rate-limited alone: another tenant's object still gets its event.
func TestAFloodingObjectDoesNotSilenceAnother(t *testing.T) {
	kube := fake.NewClientset()
	rec, b := newEventRecorder(kube.CoreV1(), Scheme(), "atrium-test")
	defer b.Shutdown()
	noisy := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "mallory", Name: "noisy", UID: "u-m"}}
	quiet := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "alice", Name: "data", UID: "u-a"}}
	for i := range 200 {
		rec.Eventf(noisy, nil, corev1.EventTypeWarning, "CinderError", "Provision", "failure %d", i)
	}
	rec.Eventf(quiet, nil, corev1.EventTypeNormal, "Created", "Create", "Cinder volume v-1 is being created")

	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := kube.CoreV1().Events("alice").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 1 && list.Items[0].Reason == "Created" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's object has %d events after mallory's flood, want its Created", len(list.Items))
		}
		time.Sleep(50 * time.Millisecond)
	}
	total := eventsSent(t, kube, "mallory")
	if total >= 200 {
		t.Errorf("mallory's object got all %d of its events through, want it rate-limited", total)
	}
}

// The correlator keeps the records of the objects with recent events, not
// of all (eventLRU): a flooding object interleaved with hundreds of
// others, each with an event of its own, is still held to its rate limit,
// and the others' events all reach their namespace. (Fewer than the
// broadcaster's queue of 1,000 events: past it, client-go drops what is
// recorded faster than it is sent, whatever the correlator keeps.)
func TestAFloodingObjectStaysLimitedAmongManyOthers(t *testing.T) {
	kube := fake.NewClientset()
	rec, b := newEventRecorder(kube.CoreV1(), Scheme(), "atrium-test")
	defer b.Shutdown()
	noisy := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "mallory", Name: "noisy", UID: "u-m"}}
	const others = 400
	for i := range others {
		o := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "alice", Name: fmt.Sprintf("site-%d", i), UID: types.UID(fmt.Sprintf("u-%d", i))}}
		rec.Eventf(o, nil, corev1.EventTypeNormal, "Created", "Create", "made %d", i)
		rec.Eventf(noisy, nil, corev1.EventTypeWarning, "CinderError", "Provision", "failure %d", i)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := kube.CoreV1().Events("alice").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == others {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's objects have %d events, want one each of %d", len(list.Items), others)
		}
		time.Sleep(100 * time.Millisecond)
	}
	total := eventsSent(t, kube, "mallory")
	if total > 30 {
		t.Errorf("mallory's object got %d of its %d events through among the others, want its burst of 25 and little more", total, others)
	}
}

// eventsSent counts the events that reached namespace ns, each Event's
// repeats included.
func eventsSent(t *testing.T, kube *fake.Clientset, ns string) int32 {
	t.Helper()
	list, err := kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var total int32
	for _, e := range list.Items {
		total += max(e.Count, 1)
	}
	return total
}
