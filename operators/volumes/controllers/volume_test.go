package controllers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// A volume's whole life, as its tenant lives it: created, bound, grown,
// deleted (kept by default), found in the orphan report, adopted again,
// and deleted for good.
func TestVolumeLifecycle(t *testing.T) {
	ctx := context.Background()
	tenant := tenantNamespace(t, "alpha")
	v := volume(t, tenant, "alpha", "data", 2)
	got := waitBound(t, v)

	ids := volumesOf(t, got)
	if len(ids) != 1 || ids[0] != got.Status.VolumeID {
		t.Fatalf("Cinder volumes of the object = %v, status says %q", ids, got.Status.VolumeID)
	}
	cv, _ := os_.Volume(ids[0])
	if cv.Size != 2 || cv.Zone != zoneA || cv.Metadata[storagev1.MetaCluster] != cluster ||
		cv.Metadata[storagev1.MetaNamespace] != "alpha" || cv.Metadata[storagev1.MetaName] != "data" {
		t.Fatalf("Cinder volume = %+v", cv)
	}
	if got.Status.CapacityGiB != 2 || got.Status.AvailabilityZone != zoneA || got.Status.ClaimName != "data" || got.Status.PersistentVolumeName != "atrium-"+string(got.UID) {
		t.Fatalf("status = %+v", got.Status)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: "alpha", Name: "data"}, pvc); err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{}
	if err := env.Client.Get(ctx, types.NamespacedName{Name: got.Status.PersistentVolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != storagev1.CSIDriver || pv.Spec.CSI.VolumeHandle != cv.ID ||
		pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Fatalf("PersistentVolume = %+v", pv.Spec)
	}
	if c := pv.Spec.Capacity[corev1.ResourceStorage]; c.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Fatalf("PersistentVolume capacity = %s", c.String())
	}
	if a := pv.Spec.NodeAffinity; a == nil || a.Required.NodeSelectorTerms[0].MatchExpressions[0].Values[0] != zoneA {
		t.Fatalf("node affinity = %+v", a)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != pv.Name || !metav1.IsControlledBy(pvc, got) {
		t.Fatalf("claim = %+v / %+v", pvc.Spec, pvc.Status)
	}

	// The tenant cannot take the claim from the operator: not delete it
	// (freeing quota while the Cinder volume stays), not grow it past the
	// operator, not take it out of the operator's sight.
	if err := tenant.Delete(ctx, pvc.DeepCopy()); !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Fatalf("tenant deleting the operator's claim: %v, want refused", err)
	}
	grown := pvc.DeepCopy()
	grown.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("50Gi")}
	if err := tenant.Update(ctx, grown); err == nil {
		t.Fatal("tenant grew the operator's claim")
	}
	unlabelled := pvc.DeepCopy()
	delete(unlabelled.Labels, storagev1.VolumeUIDLabel)
	if err := tenant.Update(ctx, unlabelled); err == nil {
		t.Fatal("tenant took the operator's label off its claim")
	}
	annotated := pvc.DeepCopy()
	annotated.Annotations = map[string]string{"example.org/note": "backups nightly"}
	if err := tenant.Update(ctx, annotated); err != nil {
		t.Fatalf("tenant annotating the claim: %v", err)
	}
	// Nor write the status the operator trusts.
	forged := got.DeepCopy()
	forged.Status.VolumeID = "00000000-0000-0000-0000-000000000000"
	if err := tenant.Status().Update(ctx, forged); !apierrors.IsForbidden(err) {
		t.Fatalf("tenant writing status: %v, want Forbidden", err)
	}

	// Grow: Cinder, then the PersistentVolume and the claim follow.
	setSize(t, tenant, got, 3)
	got = waitFor(t, got, func(v *storagev1.OpenStackVolume) bool {
		c := condition(v, storagev1.ConditionReady)
		return v.Status.CapacityGiB == 3 && c != nil && c.Reason == "Bound" && c.ObservedGeneration == v.Generation
	})
	if cv, _ := os_.Volume(ids[0]); cv.Size != 3 {
		t.Fatalf("Cinder size after extend = %d", cv.Size)
	}
	_ = env.Client.Get(ctx, client.ObjectKeyFromObject(pv), pv)
	_ = env.Client.Get(ctx, client.ObjectKeyFromObject(pvc), pvc)
	if c := pv.Spec.Capacity[corev1.ResourceStorage]; c.Cmp(resource.MustParse("3Gi")) != 0 {
		t.Fatalf("PersistentVolume capacity after extend = %s", c.String())
	}
	if c := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; c.Cmp(resource.MustParse("3Gi")) != 0 {
		t.Fatalf("claim request after extend = %s", c.String())
	}
	// Shrinking is refused by the schema, naming the rule.
	shrunk := got.DeepCopy()
	shrunk.Spec.SizeGiB = 1
	if err := tenant.Update(ctx, shrunk); err == nil || !strings.Contains(err.Error(), "cannot shrink") {
		t.Fatalf("shrink: %v", err)
	}

	// Delete with the default policy: the claim and the PersistentVolume
	// go, the Cinder volume stays, marked released.
	if err := tenant.Delete(ctx, got.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, got.DeepCopy())
	waitGone(t, pvc)
	waitGone(t, pv)
	cv, ok := os_.Volume(ids[0])
	if !ok || cv.Metadata[storagev1.MetaReleased] == "" {
		t.Fatalf("retained volume = %+v (exists %v), want kept and released", cv, ok)
	}
	report := orphanReport(t)
	if !strings.Contains(report, ids[0]) || !strings.Contains(report, "state: released") {
		t.Fatalf("orphan report does not list the retained volume:\n%s", report)
	}

	// The same namespace adopts it again.
	again := volume(t, tenant, "alpha", "data-again", 3, adopting(ids[0]), deletePolicy)
	again = waitBound(t, again)
	if again.Status.VolumeID != ids[0] {
		t.Fatalf("adopted %q, want %q", again.Status.VolumeID, ids[0])
	}
	cv, _ = os_.Volume(ids[0])
	if cv.Metadata[storagev1.MetaUID] != string(again.UID) || cv.Metadata[storagev1.MetaReleased] != "" {
		t.Fatalf("metadata after adoption = %v", cv.Metadata)
	}
	if strings.Contains(orphanReport(t), ids[0]) {
		t.Fatal("an adopted volume is still reported as an orphan")
	}
	// Deleted with Delete: gone from Cinder.
	if err := tenant.Delete(ctx, again.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, again.DeepCopy())
	if _, ok := os_.Volume(ids[0]); ok {
		t.Fatal("Cinder volume still exists after a delete with reclaimPolicy Delete")
	}
}

// The tier's quota is the API server's, on claims: a volume past it gets
// no Cinder volume, and neither does an extend past it, however many are
// asked for at once.
func TestTierQuota(t *testing.T) {
	ctx := context.Background()
	tenant := tenantNamespace(t, "quota")
	storageQuota(t, "quota", 3, 2)
	first := waitBound(t, volume(t, tenant, "quota", "first", 2))

	creates := os_.Count(openstackfake.RouteCreateVolume)
	over := waitReason(t, volume(t, tenant, "quota", "too-big", 2), storagev1.ConditionQuotaExceeded, "TierQuota")
	if c := condition(over, storagev1.ConditionReady); c.Reason != "QuotaExceeded" {
		t.Fatalf("Ready = %+v", c)
	}
	if n := os_.Count(openstackfake.RouteCreateVolume); n != creates {
		t.Fatalf("Cinder was asked for %d volumes past the quota", n-creates)
	}
	// An extend past the quota is refused before Cinder, too.
	setSize(t, tenant, first, 5)
	waitReason(t, first, storagev1.ConditionQuotaExceeded, "TierQuota")
	if cv, _ := os_.Volume(first.Status.VolumeID); cv.Size != 2 {
		t.Fatalf("Cinder volume grew to %d past the quota", cv.Size)
	}
	_ = tenant.Delete(ctx, over)

	// Ten at once for the one volume left: exactly one gets it.
	var wg sync.WaitGroup
	vols := make([]*storagev1.OpenStackVolume, 10)
	for i := range vols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vols[i] = volume(t, tenant, "quota", "race-"+string(rune('a'+i)), 1)
		}()
	}
	wg.Wait()
	time.Sleep(2 * time.Second)
	made := 0
	for _, v := range vols {
		got := &storagev1.OpenStackVolume{}
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(v), got)
		made += len(volumesOf(t, got))
	}
	if made != 1 {
		t.Fatalf("%d Cinder volumes for 10 racing volumes and one left in the quota, want 1", made)
	}
}

// Cinder's own quota (413) is a condition, not a storm of creates.
func TestCinderQuota(t *testing.T) {
	tenant := tenantNamespace(t, "cinderquota")
	os_.SetQuota(project, 0, -1)
	defer os_.SetQuota(project, -1, -1)
	before := os_.Count(openstackfake.RouteCreateVolume)
	v := waitReason(t, volume(t, tenant, "cinderquota", "v", 1), storagev1.ConditionQuotaExceeded, "CinderQuota")
	time.Sleep(3 * time.Second)
	if n := os_.Count(openstackfake.RouteCreateVolume) - before; n > 6 {
		t.Fatalf("%d creates in about 3s against an exhausted quota: no backoff", n)
	}
	if len(volumesOf(t, v)) != 0 {
		t.Fatal("a volume exists past Cinder's quota")
	}
	os_.SetQuota(project, -1, -1)
	waitBound(t, v)
}

// A failed look-up is "unknown", never "absent": nothing is created until
// Cinder answers it, and then exactly one volume.
func TestFailedLookupCreatesNothing(t *testing.T) {
	tenant := tenantNamespace(t, "lookup")
	// Started afresh, so that the listing of the project's volumes fails
	// too: until one listing or look-up succeeds, nothing is created.
	operator.stop()
	os_.FailNext(openstackfake.RouteListVolumes, 503, 3)
	before := len(os_.Log())
	var err error
	if operator, err = start(nil); err != nil {
		t.Fatal(err)
	}
	v := waitBound(t, volume(t, tenant, "lookup", "v", 1))
	if ids := volumesOf(t, v); len(ids) != 1 {
		t.Fatalf("%d Cinder volumes, want 1", len(ids))
	}
	failed := 0
	for _, e := range os_.Log()[before:] {
		if e.Route == openstackfake.RouteListVolumes && e.Status == 503 {
			failed++
		}
		if e.Route == openstackfake.RouteCreateVolume && failed < 3 {
			t.Fatalf("a create was sent after %d failed look-ups, before one succeeded", failed)
		}
	}
}

// A 429 closes the gate for its Retry-After: nothing is sent meanwhile.
func TestRateLimitHonoursRetryAfter(t *testing.T) {
	tenant := tenantNamespace(t, "ratelimit")
	os_.RateLimitNext(openstackfake.RouteCreateVolume, 2, 1)
	start := len(os_.Log())
	v := volume(t, tenant, "ratelimit", "v", 1)
	var at int
	err := testenv.Eventually(context.Background(), timeout, func() error {
		for i, e := range os_.Log()[start:] {
			if e.Status == 429 {
				at = start + i + 1
				return nil
			}
		}
		return errString("no 429 yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(os_.Log()) - at; n > 0 {
		t.Fatalf("%d requests reached Cinder within its Retry-After of 2s", n)
	}
	if ids := volumesOf(t, waitBound(t, v)); len(ids) != 1 {
		t.Fatalf("%d volumes after the 429, want 1", len(ids))
	}
}

// Cinder's error state is a condition with its reason; no second volume
// is made in its place.
func TestCinderErrorState(t *testing.T) {
	tenant := tenantNamespace(t, "broken")
	swapOperator(t, func(c controllers.Cinder, _ context.CancelFunc) controllers.Cinder {
		return &failAfterCreate{Cinder: c}
	})
	v := waitReason(t, volume(t, tenant, "broken", "v", 1), storagev1.ConditionError, "CinderError")
	time.Sleep(time.Second)
	if ids := volumesOf(t, v); len(ids) != 1 {
		t.Fatalf("%d Cinder volumes for a volume in error, want 1", len(ids))
	}
	if c := condition(v, storagev1.ConditionReady); c.Reason != "CinderError" || !strings.Contains(c.Message, v.Status.VolumeID) {
		t.Fatalf("Ready = %+v", c)
	}
}

func setSize(t *testing.T, c client.Client, v *storagev1.OpenStackVolume, size int32) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, func() error {
		cur := &storagev1.OpenStackVolume{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(v), cur); err != nil {
			return err
		}
		cur.Spec.SizeGiB = size
		return c.Update(context.Background(), cur)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, v *storagev1.OpenStackVolume, ok func(*storagev1.OpenStackVolume) bool) *storagev1.OpenStackVolume {
	t.Helper()
	got := &storagev1.OpenStackVolume{}
	err := testenv.Eventually(context.Background(), timeout, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(v), got); err != nil {
			return err
		}
		if !ok(got) {
			return errString("not yet: " + strings.Join(conditionsOf(got), "; "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func conditionsOf(v *storagev1.OpenStackVolume) []string {
	var out []string
	for _, c := range v.Status.Conditions {
		out = append(out, c.Type+"="+string(c.Status)+"/"+c.Reason+": "+c.Message)
	}
	return out
}

type errString string

func (e errString) Error() string { return string(e) }

// orphanReport runs a comparison and returns the report an admin reads.
func orphanReport(t *testing.T) string {
	t.Helper()
	if err := operator.reporter.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: "atrium-system", Name: controllers.OrphanReport}, cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data[controllers.OrphanReportKey]
}

// swapOperator replaces the suite's operator with one whose Cinder is
// wrapped, for the test's length.
func swapOperator(t *testing.T, wrap func(controllers.Cinder, context.CancelFunc) controllers.Cinder) {
	t.Helper()
	operator.stop()
	var err error
	if operator, err = start(wrap); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		operator.stop()
		var err error
		if operator, err = start(nil); err != nil {
			t.Fatal(err)
		}
	})
}

// failAfterCreate makes every volume it creates fail to settle, as a
// backend that cannot allocate it would.
type failAfterCreate struct {
	controllers.Cinder
}

func (f *failAfterCreate) Create(ctx context.Context, r cinderCreate) (*cinderVolume, error) {
	v, err := f.Cinder.Create(ctx, r)
	if err == nil {
		os_.FailTransition(v.ID)
	}
	return v, err
}

// listCounter counts the whole-list reads a reporter makes of Cinder.
type listCounter struct {
	controllers.Cinder
	mu sync.Mutex
	n  int
}

func (l *listCounter) List(ctx context.Context, match map[string]string) ([]*cinder.Volume, error) {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return l.Cinder.List(ctx, match)
}

func (l *listCounter) lists() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// The first orphan report waits FirstAfter once a replica leads (the
// inventory reads the same whole list then), leaves at once when the
// replica stops leading meanwhile, and then comes.
func TestTheFirstOrphanReportWaits(t *testing.T) {
	counter := &listCounter{Cinder: operator.reporter.Cinder}
	rep := *operator.reporter
	rep.Cinder, rep.Interval, rep.FirstAfter = counter, time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rep.Start(ctx) }()
	time.Sleep(500 * time.Millisecond)
	if n := counter.lists(); n != 0 {
		t.Fatalf("%d lists of Cinder before the first report was due", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reporter did not stop while waiting for its first report")
	}

	rep.FirstAfter = 50 * time.Millisecond
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- rep.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for counter.lists() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no report after FirstAfter")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
