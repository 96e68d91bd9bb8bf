package controllers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
	"github.com/atrium-dev/atrium/operators/volumes/controllers"
)

// A create whose answer is lost on the way back made a volume all the
// same: the next look-up finds it, and no second one is made.
func TestLostCreateResponse(t *testing.T) {
	tenant := tenantNamespace(t, "lost")
	for _, lose := range []func(){
		func() { os_.LoseResponseNext(openstackfake.RouteCreateVolume, 1) },
		func() { os_.LoseResponseNextWith(openstackfake.RouteCreateVolume, 504, 1) },
	} {
		before := len(os_.Log())
		lose()
		v := waitBound(t, volume(t, tenant, "lost", fmt.Sprintf("v%d", before), 1))
		if ids := volumesOf(t, v); len(ids) != 1 {
			t.Fatalf("%d Cinder volumes after a lost create answer, want 1", len(ids))
		}
		lost := false
		for _, e := range os_.Log()[before:] {
			lost = lost || (e.Route == openstackfake.RouteCreateVolume && e.Lost)
		}
		if !lost {
			t.Fatal("no create answer was lost: the test tested nothing")
		}
	}
}

// Delete waits while a server holds the volume, and deletes it once
// detached; Retain never deletes it, attached or not.
func TestDeleteWaitsForDetach(t *testing.T) {
	ctx := context.Background()
	tenant := tenantNamespace(t, "attached")
	v := waitBound(t, volume(t, tenant, "attached", "v", 1, deletePolicy))
	id := v.Status.VolumeID
	os_.Attach(id, "server-1")
	// A pod using the claim would keep the claim (and so the object);
	// here the server that holds it is outside the cluster.
	if err := tenant.Delete(ctx, v.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	waitReason(t, v, storagev1.ConditionReady, "WaitingForDetach")
	time.Sleep(time.Second)
	if _, ok := os_.Volume(id); !ok {
		t.Fatal("an attached volume was deleted")
	}
	os_.Detach(id)
	waitGone(t, v.DeepCopy())
	if _, ok := os_.Volume(id); ok {
		t.Fatal("the detached volume was not deleted")
	}
}

// Growing an attached volume: in use where the cloud allows it (3.42 and
// later), otherwise a condition that says to detach, and the growth once
// it is.
func TestExtendInUse(t *testing.T) {
	tenant := tenantNamespace(t, "inuse")
	v := waitBound(t, volume(t, tenant, "inuse", "v", 1))
	os_.Attach(v.Status.VolumeID, "server-1")
	setSize(t, tenant, v, 2)
	waitFor(t, v, func(v *storagev1.OpenStackVolume) bool {
		return v.Status.CapacityGiB == 2 && v.Status.VolumeStatus == "in-use"
	})

	swapOperator(t, func(c controllers.Cinder, _ context.CancelFunc) controllers.Cinder { return oldCloud{c} })
	setSize(t, tenant, v, 3)
	got := waitReason(t, v, storagev1.ConditionReady, "DetachToExtend")
	if !strings.Contains(condition(got, storagev1.ConditionReady).Message, "stop the pods using claim v") {
		t.Fatalf("Ready = %+v", condition(got, storagev1.ConditionReady))
	}
	if cv, _ := os_.Volume(v.Status.VolumeID); cv.Size != 2 {
		t.Fatalf("an attached volume grew to %d on a cloud that cannot", cv.Size)
	}
	os_.Detach(v.Status.VolumeID)
	waitFor(t, v, func(v *storagev1.OpenStackVolume) bool { return v.Status.CapacityGiB == 3 })
}

// oldCloud is a cloud below microversion 3.42.
type oldCloud struct{ controllers.Cinder }

func (oldCloud) InUseExtend() bool { return false }

// Adoption takes only what is this namespace's to take.
func TestAdoptionRules(t *testing.T) {
	tenant := tenantNamespace(t, "adopter")
	ns := &corev1.Namespace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "adopter"}, ns); err != nil {
		t.Fatal(err)
	}
	nsUID := string(ns.UID)
	released := time.Now().UTC().Format(time.RFC3339)
	md := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name    string
		project string
		seed    openstackfake.VolumeSeed
		size    int32
		ok      bool
		message string
	}{
		{"own released", project, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaCluster, cluster, storagev1.MetaNamespace, "adopter", storagev1.MetaNamespaceUID, nsUID, storagev1.MetaName, "old", storagev1.MetaUID, "u-1", storagev1.MetaReleased, released)}, 1, true, ""},
		{"released by an earlier namespace of the same name", project, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaCluster, cluster, storagev1.MetaNamespace, "adopter", storagev1.MetaNamespaceUID, "5a1e0000-0000-0000-0000-000000000000", storagev1.MetaName, "old", storagev1.MetaUID, "u-0", storagev1.MetaReleased, released)}, 1, false, "not made in this namespace"},
		{"marked for it by an admin", project, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaAdoptableBy, cluster+"/adopter")}, 2, true, ""},
		{"another namespace's released", project, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaCluster, cluster, storagev1.MetaNamespace, "victim", storagev1.MetaNamespaceUID, nsUID, storagev1.MetaName, "db", storagev1.MetaUID, "u-2", storagev1.MetaReleased, released)}, 1, false, "not made in this namespace"},
		{"same namespace name in another cluster", project, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaCluster, "member-2", storagev1.MetaNamespace, "adopter", storagev1.MetaNamespaceUID, nsUID, storagev1.MetaName, "db", storagev1.MetaUID, "u-3", storagev1.MetaReleased, released)}, 1, false, "not made in this namespace"},
		{"held in another cluster", project, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaCluster, "member-2", storagev1.MetaNamespace, "adopter", storagev1.MetaName, "db", storagev1.MetaUID, "u-4")}, 1, false, "held by another OpenStackVolume"},
		{"hand-made, unmarked", project, openstackfake.VolumeSeed{Size: 1}, 1, false, "not made in this namespace"},
		{"another OpenStack project's", other, openstackfake.VolumeSeed{Size: 1, Metadata: md(storagev1.MetaAdoptableBy, cluster+"/adopter")}, 1, false, "no Cinder volume"},
		{"larger than asked", project, openstackfake.VolumeSeed{Size: 5, Metadata: md(storagev1.MetaAdoptableBy, cluster+"/adopter")}, 2, false, "set spec.sizeGiB to at least 5"},
		{"in error", project, openstackfake.VolumeSeed{Size: 1, Status: "error", Metadata: md(storagev1.MetaAdoptableBy, cluster+"/adopter")}, 1, false, "is error"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := os_.AddVolume(c.project, c.seed)
			v := volume(t, tenant, "adopter", fmt.Sprintf("case-%d", i), c.size, adopting(id))
			if c.ok {
				got := waitBound(t, v)
				cv, _ := os_.Volume(id)
				if got.Status.VolumeID != id || cv.Metadata[storagev1.MetaUID] != string(got.UID) || cv.Metadata[storagev1.MetaAdoptableBy] != "" || cv.Metadata[storagev1.MetaReleased] != "" {
					t.Fatalf("adopted: status %q, metadata %v", got.Status.VolumeID, cv.Metadata)
				}
				return
			}
			got := waitReason(t, v, storagev1.ConditionReady, "AdoptionRefused")
			if m := condition(got, storagev1.ConditionReady).Message; !strings.Contains(m, c.message) {
				t.Fatalf("refusal %q does not say %q", m, c.message)
			}
			if cv, ok := os_.Volume(id); ok && cv.Metadata[storagev1.MetaUID] == string(got.UID) {
				t.Fatal("the refused volume was written into")
			}
			// Deleting a refused adoption touches nothing in Cinder.
			before, _ := os_.Volume(id)
			if err := tenant.Delete(context.Background(), got); err != nil {
				t.Fatal(err)
			}
			waitGone(t, got)
			if after, ok := os_.Volume(id); c.project == project && (!ok || fmt.Sprint(after.Metadata) != fmt.Sprint(before.Metadata)) {
				t.Fatalf("a refused adoption's delete changed the volume: %v → %v", before.Metadata, after.Metadata)
			}
		})
	}
}

// A volume an object holds is not taken by another, even once Cinder's
// mark of its holder is lost (changed by hand, or a write that never
// landed) and the operator has restarted, forgetting the adoptions it made:
// the volumes in its cache say who holds what.
func TestAHeldVolumeIsNotTakenWithoutItsMark(t *testing.T) {
	tenant := tenantNamespace(t, "keeper")
	free := map[string]string{storagev1.MetaAdoptableBy: cluster + "/keeper"}
	id := os_.AddVolume(project, openstackfake.VolumeSeed{Size: 1, Metadata: free})
	holder := waitBound(t, volume(t, tenant, "keeper", "first", 1, adopting(id)))
	os_.SetVolumeMetadata(id, free)
	restart(t, nil)
	got := waitReason(t, volume(t, tenant, "keeper", "second", 1, adopting(id)), storagev1.ConditionReady, "AdoptionRefused")
	if m := condition(got, storagev1.ConditionReady).Message; !strings.Contains(m, "held by another OpenStackVolume") {
		t.Fatalf("refusal %q does not name the holder", m)
	}
	if cv, _ := os_.Volume(id); cv.Metadata[storagev1.MetaUID] == string(got.UID) {
		t.Fatalf("the second object wrote itself into %s, which %s holds", id, holder.Name)
	}
}

// Two objects of this cluster asking for one free volume at once: one gets
// it.
func TestConcurrentAdoption(t *testing.T) {
	tenant := tenantNamespace(t, "twice")
	for round := range 5 {
		id := os_.AddVolume(project, openstackfake.VolumeSeed{Size: 1, Metadata: map[string]string{storagev1.MetaAdoptableBy: cluster + "/twice"}})
		var wg sync.WaitGroup
		vols := make([]*storagev1.OpenStackVolume, 4)
		for i := range vols {
			wg.Add(1)
			go func() {
				defer wg.Done()
				vols[i] = volume(t, tenant, "twice", fmt.Sprintf("r%d-%d", round, i), 1, adopting(id))
			}()
		}
		wg.Wait()
		bound, refused := 0, 0
		err := testenv.Eventually(context.Background(), timeout, func() error {
			bound, refused = 0, 0
			for _, v := range vols {
				got := &storagev1.OpenStackVolume{}
				if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(v), got); err != nil {
					return err
				}
				switch c := condition(got, storagev1.ConditionReady); {
				case c != nil && c.Reason == "Bound":
					bound++
				case c != nil && c.Reason == "AdoptionRefused":
					refused++
				}
			}
			if bound+refused != len(vols) {
				return fmt.Errorf("%d bound, %d refused", bound, refused)
			}
			return nil
		})
		if err != nil || bound != 1 {
			t.Fatalf("round %d: %d bound, %d refused (%v); want exactly one bound", round, bound, refused, err)
		}
	}
}

// A volume from a snapshot of the namespace's own volume lands in the
// snapshot's zone; another zone, or another namespace's snapshot, is
// refused.
func TestFromSnapshot(t *testing.T) {
	tenant := tenantNamespace(t, "snaps")
	thief := tenantNamespace(t, "thief")
	src := waitBound(t, volume(t, tenant, "snaps", "src", 1, inZone(zoneB)))
	snap := os_.AddSnapshot(src.Status.VolumeID, "nightly")

	got := waitBound(t, volume(t, tenant, "snaps", "restored", 2, fromSnapshot(snap)))
	cv, _ := os_.Volume(got.Status.VolumeID)
	if cv.Zone != zoneB || cv.SnapshotID != snap || cv.Size != 2 {
		t.Fatalf("restored volume = %+v", cv)
	}
	wrong := waitReason(t, volume(t, tenant, "snaps", "elsewhere", 1, fromSnapshot(snap), inZone(zoneA)), storagev1.ConditionReady, "SnapshotRefused")
	if m := condition(wrong, storagev1.ConditionReady).Message; !strings.Contains(m, "set spec.availabilityZone to "+zoneB) {
		t.Fatalf("refusal = %q", m)
	}
	stolen := waitReason(t, volume(t, thief, "thief", "copy", 1, fromSnapshot(snap)), storagev1.ConditionReady, "SnapshotRefused")
	if len(volumesOf(t, stolen)) != 0 {
		t.Fatal("another namespace got a copy of the snapshot")
	}
}

// Deleting a Project (its namespace) never deletes a retained volume: it
// stays in Cinder, released, and the orphan report lists it.
func TestProjectDeletedKeepsRetained(t *testing.T) {
	ctx := context.Background()
	tenant := tenantNamespace(t, "goner")
	kept := waitBound(t, volume(t, tenant, "goner", "kept", 1))
	dropped := waitBound(t, volume(t, tenant, "goner", "dropped", 1, deletePolicy))
	if err := env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metaName("goner")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &corev1.Namespace{ObjectMeta: metaName("goner")})
	cv, ok := os_.Volume(kept.Status.VolumeID)
	if !ok || cv.Metadata[storagev1.MetaReleased] == "" {
		t.Fatalf("retained volume after its Project went: %+v (exists %v)", cv, ok)
	}
	if _, ok := os_.Volume(dropped.Status.VolumeID); ok {
		t.Fatal("the Delete volume outlived its Project")
	}
	report := orphanReport(t)
	if !strings.Contains(report, kept.Status.VolumeID) || !strings.Contains(report, "namespace: goner") {
		t.Fatalf("report does not list the retained volume:\n%s", report)
	}
}

// The operator's OpenStack credentials and tokens appear in no log line.
func TestNoCredentialsInLogs(t *testing.T) {
	if strings.Contains(logs.String(), appCredSecret) {
		t.Fatal("the application credential's secret is in the operator's log")
	}
	for _, e := range os_.Log() {
		if strings.Contains(e.Path, appCredSecret) {
			t.Fatal("a secret went into a request path")
		}
	}
}

// The operator is killed at points of a create (before it is sent, right
// after Cinder accepted it, while it settles, or anywhere) and started
// again, 100 times over, each time with a new volume on its way; at the
// end each object has exactly one Cinder volume and none is lost.
func TestCrashDuringCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	ctx := context.Background()
	tenant := tenantNamespace(t, "crash")
	operator.stop()
	t.Cleanup(func() {
		var err error
		if operator, err = start(nil); err != nil {
			t.Fatal(err)
		}
	})
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	var vols []*storagev1.OpenStackVolume
	fired := map[int]int{}
	for i := range 100 {
		vols = append(vols, volume(t, tenant, "crash", fmt.Sprintf("v%03d", i), 1))
		k := &killer{point: i % 4, delay: time.Duration(rng.IntN(300)) * time.Millisecond, killed: make(chan struct{})}
		run, err := startWith(func(c controllers.Cinder, cancel context.CancelFunc) controllers.Cinder {
			k.Cinder, k.cancel = c, cancel
			return k
		}, 500*time.Millisecond, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if k.point == 2 {
			time.AfterFunc(k.delay, func() { k.kill() })
		}
		select {
		case <-k.killed:
			fired[k.point]++
		case <-time.After(2 * time.Second):
		}
		run.stop()
	}
	t.Logf("kills by point (0 before a create, 1 after its answer, 2 anywhere, 3 while settling): %v", fired)
	if fired[0] == 0 || fired[1] == 0 {
		t.Fatalf("the kills did not hit creates (%v): the test tested nothing", fired)
	}
	var err error
	if operator, err = start(nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		got := waitBound(t, v)
		if ids := volumesOf(t, got); len(ids) != 1 || ids[0] != got.Status.VolumeID {
			t.Fatalf("%s: Cinder volumes %v, status %q; want exactly one", v.Name, ids, got.Status.VolumeID)
		}
	}
	if ids := os_.VolumesWithMetadata(project, storagev1.MetaNamespace, "crash"); len(ids) != len(vols) {
		t.Fatalf("%d Cinder volumes for %d objects", len(ids), len(vols))
	}
	operator.stop()
	operator = nil
	_ = ctx
}

// killer stops the operator at one point of a create, as a crash would:
// the call that would have gone on fails, and nothing after it runs.
type killer struct {
	controllers.Cinder
	point  int
	delay  time.Duration
	cancel context.CancelFunc
	once   sync.Once
	killed chan struct{}
}

// crashed is what the real client answers a call cut off by the crash.
var crashed = &cinder.Error{Reason: cinder.Unavailable, Message: "context canceled"}

func (k *killer) kill() {
	k.once.Do(func() {
		k.cancel()
		close(k.killed)
	})
}

func (k *killer) Create(ctx context.Context, r cinder.CreateRequest) (*cinder.Volume, error) {
	if k.point == 0 {
		k.kill()
		return nil, crashed
	}
	v, err := k.Cinder.Create(ctx, r)
	if k.point == 1 && err == nil {
		k.kill()
		return nil, crashed
	}
	return v, err
}

func (k *killer) Get(ctx context.Context, id string) (*cinder.Volume, error) {
	v, err := k.Cinder.Get(ctx, id)
	if k.point == 3 && err == nil && v.Status == "creating" {
		k.kill()
		return nil, crashed
	}
	return v, err
}

// Another tenant's claim naming a volume's PersistentVolume binds to
// nothing: the PersistentVolume names its claim by UID. Nor can a tenant
// make a claim that looks like the operator's, or a PersistentVolume.
func TestClaimCannotTakeAnotherTenantsVolume(t *testing.T) {
	ctx := context.Background()
	victim := tenantNamespace(t, "victim")
	attacker := tenantNamespace(t, "attacker")
	v := waitBound(t, volume(t, victim, "victim", "secrets", 1))
	class := storagev1.StorageClassName
	grab := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "attacker", Name: "grab"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			StorageClassName: &class,
			VolumeName:       v.Status.PersistentVolumeName,
		},
	}
	if err := attacker.Create(ctx, grab); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	_ = env.Client.Get(ctx, client.ObjectKeyFromObject(grab), grab)
	pv := &corev1.PersistentVolume{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: v.Status.PersistentVolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	if grab.Status.Phase == corev1.ClaimBound || pv.Spec.ClaimRef.Namespace != "victim" {
		t.Fatalf("the attacker's claim is %s, the volume's claimRef %s/%s", grab.Status.Phase, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name)
	}
	// A claim carrying the operator's labels is the operator's to make.
	fake := grab.DeepCopy()
	fake.ObjectMeta = metav1.ObjectMeta{Namespace: "attacker", Name: "fake", Labels: map[string]string{
		storagev1.VolumeLabel: "secrets", storagev1.VolumeNamespaceLabel: "victim", storagev1.VolumeUIDLabel: string(v.UID)}}
	if err := attacker.Create(ctx, fake); err == nil {
		t.Fatal("a tenant made a claim labelled as the operator's")
	}
	// And PersistentVolumes are no tenant's.
	own := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "attacker-pv"}, Spec: pv.Spec}
	own.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "attacker", Name: "grab"}
	if err := attacker.Create(ctx, own); !apierrors.IsForbidden(err) {
		t.Fatalf("a tenant creating a PersistentVolume: %v, want Forbidden", err)
	}
}

// A call the client's pacing or the 429 gate kept back taught nothing: the
// status stays as it was (a volume paced on its resync does not turn
// "rate limited" for its user), and a create kept back is simply sent
// later, once.
func TestPacedCallsChangeNothing(t *testing.T) {
	tenant := tenantNamespace(t, "paced")
	v := waitBound(t, volume(t, tenant, "paced", "v", 1))
	p := &paced{left: 1 << 30}
	swapOperator(t, func(c controllers.Cinder, _ context.CancelFunc) controllers.Cinder {
		p.Cinder = c
		return p
	})
	// Every reconcile of v now finds Cinder's calls kept back.
	time.Sleep(2 * time.Second)
	got := &storagev1.OpenStackVolume{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(v), got); err != nil {
		t.Fatal(err)
	}
	if c := condition(got, storagev1.ConditionReady); c.Reason != "Bound" || got.ResourceVersion != v.ResourceVersion {
		t.Fatalf("after paced calls: Ready %+v, resourceVersion %s → %s", c, v.ResourceVersion, got.ResourceVersion)
	}
	if p.calls() == 0 {
		t.Fatal("no call was paced: the test tested nothing")
	}
	// A new volume whose first creates are kept back is made once.
	p.set(3)
	n := waitBound(t, volume(t, tenant, "paced", "n", 1))
	if ids := volumesOf(t, n); len(ids) != 1 {
		t.Fatalf("%d Cinder volumes, want 1", len(ids))
	}
}

// paced keeps the next calls back as the client's gate would.
type paced struct {
	controllers.Cinder
	mu    sync.Mutex
	left  int
	count int
}

func (p *paced) set(n int) { p.mu.Lock(); p.left = n; p.mu.Unlock() }

func (p *paced) calls() int { p.mu.Lock(); defer p.mu.Unlock(); return p.count }

func (p *paced) gate() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left <= 0 {
		return nil
	}
	p.left--
	p.count++
	return &cinder.Error{Reason: cinder.RateLimited, RetryAfter: 100 * time.Millisecond, Message: "pacing requests to Cinder"}
}

func (p *paced) Get(ctx context.Context, id string) (*cinder.Volume, error) {
	if err := p.gate(); err != nil {
		return nil, err
	}
	return p.Cinder.Get(ctx, id)
}

func (p *paced) List(ctx context.Context, md map[string]string) ([]*cinder.Volume, error) {
	if err := p.gate(); err != nil {
		return nil, err
	}
	return p.Cinder.List(ctx, md)
}

func (p *paced) Create(ctx context.Context, r cinder.CreateRequest) (*cinder.Volume, error) {
	if err := p.gate(); err != nil {
		return nil, err
	}
	return p.Cinder.Create(ctx, r)
}

// The operator's own identity, stolen, cannot bind a Cinder volume into a
// namespace of its choosing, nor make any other kind of PersistentVolume:
// the policy atrium-volumes-writes holds it to its job.
func TestOperatorIdentityIsHeldToItsJob(t *testing.T) {
	ctx := context.Background()
	tenantNamespace(t, "target")
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metaName("not-a-project")}); err != nil {
		t.Fatal(err)
	}
	op, err := client.New(opConfig, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	class := storagev1.StorageClassName
	labels := map[string]string{storagev1.VolumeLabel: "x", storagev1.VolumeNamespaceLabel: "target", storagev1.VolumeUIDLabel: "00000000-0000-0000-0000-000000000001"}
	claim := func(ns string, l map[string]string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stolen", Labels: l},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				StorageClassName: &class,
			},
		}
	}
	pv := func(mut func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
		p := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "stolen-pv", Labels: labels},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              class,
				ClaimRef:                      &corev1.ObjectReference{Namespace: "target", Name: "data"},
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
					Driver: storagev1.CSIDriver, VolumeHandle: "00000000-0000-0000-0000-00000000abcd"}},
			},
		}
		mut(p)
		return p
	}
	for name, obj := range map[string]client.Object{
		"a claim outside a Project":           claim("not-a-project", labels),
		"an unlabelled claim":                 claim("target", nil),
		"a claim no OpenStackVolume controls": claim("target", labels),
		"a hostPath volume": pv(func(p *corev1.PersistentVolume) {
			p.Spec.CSI = nil
			p.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/"}
		}),
		"a volume deleted with its claim": pv(func(p *corev1.PersistentVolume) {
			p.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
		}),
		"a volume bound into another namespace than its labels say": pv(func(p *corev1.PersistentVolume) {
			p.Spec.ClaimRef.Namespace = "not-a-project"
		}),
		"a volume of another class": pv(func(p *corev1.PersistentVolume) { p.Spec.StorageClassName = "standard" }),
	} {
		if err := op.Create(ctx, obj); !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
			t.Errorf("the operator's identity made %s: %v", name, err)
			_ = env.Client.Delete(ctx, obj)
		}
	}
}
