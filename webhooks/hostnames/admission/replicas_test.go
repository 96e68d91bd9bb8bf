package admission_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/wiring"
)

// forbidHosts loads the template into a member and creates a constraint
// that forbids the hostnames, and waits until the member's own webhook
// enforces it.
func forbidHosts(t *testing.T, m *member, constraint string, hosts ...string) {
	t.Helper()
	ctx := context.Background()
	tmpl := testenv.ForbiddenHostsTemplate()
	if err := m.client().Create(ctx, tmpl); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	// The constraint kind exists once a webhook has loaded the template.
	if err := testenv.Eventually(ctx, 30*time.Second, func() error {
		return m.client().Create(ctx, testenv.ForbiddenHosts(constraint, hosts...))
	}); err != nil {
		t.Fatal(err)
	}
	namespace(t, m, "policed", nil)
	if err := testenv.Eventually(ctx, 30*time.Second, func() error {
		err := m.client().Create(ctx, ingress("policed", "probe", hosts[0]), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), constraint) {
			return fmt.Errorf("%s not enforced yet: %v", constraint, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// replica is one replica of the hostnames webhook as its Deployment runs
// it: leader election on (for the claims releaser), a webhook server and a
// health probe of its own.
type replica struct {
	mgr     ctrl.Manager
	webhook *wiring.Webhook
	addr    string // webhook server, host:port
	probe   string // health probe, host:port
	stop    context.CancelFunc
	stopped chan struct{}
}

// leaseName is the Lease of the test's replicas, in the namespace the
// shipped Deployment runs in (its Role grants leases there alone).
const leaseName = "atrium-hostnames-replicas-test.atrium.dev"

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newReplica builds, without starting it, a replica serving member m.
// Its claims are made for cluster "replicas", so its releaser, once it
// leads, has nothing of the member's to release.
func newReplica(t *testing.T, m *member) *replica {
	t.Helper()
	host, _, certDir := m.env.WebhookServing()
	port, probe := freePort(t), freePort(t)
	r := &replica{addr: fmt.Sprintf("%s:%d", host, port), probe: fmt.Sprintf("127.0.0.1:%d", probe)}
	cfg, err := memberConfig(m.env)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := fleet.MintMember(context.Background(), hub, "replicas")
	if err != nil {
		t.Fatal(err)
	}
	hubCfg, _, err := hubConfig(creds.Of(components.Hostnames), m.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	r.mgr, err = ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 m.env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: r.probe,
		WebhookServer:          webhook.NewServer(webhook.Options{Host: host, Port: port, CertDir: certDir}),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Client:                 client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Cache:                  cache.Options{DefaultTransform: wiring.CacheTransform},
		// As the binary ships: leader election on, the Lease released on
		// a clean stop.
		LeaderElection:                true,
		LeaderElectionID:              leaseName,
		LeaderElectionNamespace:       fleet.Namespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(4 * time.Second),
		RenewDeadline:                 ptr.To(3 * time.Second),
		RetryPeriod:                   ptr.To(500 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.webhook, err = wiring.Setup(context.Background(), r.mgr, wiring.Options{
		Cluster: "replicas", Hub: hubCfg, HubTimeout: 2 * time.Second, Grace: grace, Resync: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.stopped = cancel, make(chan struct{})
	go func() {
		defer close(r.stopped)
		if err := r.mgr.Start(ctx); err != nil {
			t.Errorf("replica %s: %v", r.addr, err)
		}
	}()
	t.Cleanup(func() { r.stop(); <-r.stopped })
}

// ready asks the replica's /readyz, as the kubelet does.
func (r *replica) ready() error {
	resp, err := http.Get("http://" + r.probe + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

func (r *replica) leads() bool {
	select {
	case <-r.mgr.Elected():
		return true
	default:
		return false
	}
}

// review sends one AdmissionReview for creating an Ingress straight to the
// replica's webhook server, as the API server would.
func (r *replica) review(t *testing.T, ns, name string, hosts ...string) *admissionv1.AdmissionResponse {
	t.Helper()
	ing := ingress(ns, name, hosts...)
	ing.APIVersion, ing.Kind = "networking.k8s.io/v1", "Ingress"
	raw, err := json.Marshal(ing)
	if err != nil {
		t.Fatal(err)
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(fmt.Sprintf("review-%d", time.Now().UnixNano())),
			Kind:      metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
			Resource:  metav1.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
			Namespace: ns, Name: name, Operation: admissionv1.Create,
			UserInfo: authenticationv1.UserInfo{Username: "tenant"},
			Object:   runtime.RawExtension{Raw: raw},
			DryRun:   ptr.To(true),
		},
	}
	body, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	// The serving certificate is the test control plane's; only the
	// replica's answer matters here.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Post("https://"+r.addr+admission.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("replica %s: %v", r.addr, err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		t.Fatalf("replica %s answered %s: %v", r.addr, resp.Status, err)
	}
	return out.Response
}

func mustRefuse(t *testing.T, who string, resp *admissionv1.AdmissionResponse, fragment string) {
	t.Helper()
	if resp.Allowed {
		t.Fatalf("%s admitted what the policy forbids (%q)", who, fragment)
	}
	if resp.Result == nil || !strings.Contains(resp.Result.Message, fragment) {
		t.Fatalf("%s refused, but not with %q: %+v", who, fragment, resp.Result)
	}
}

// TestEveryReplicaEnforcesRego: two replicas with leader election, as the
// Deployment runs them. Each is ready only with the policies in, and each,
// the leader and the standby alike, refuses what a constraint forbids:
// constraints that existed when they started, and constraints added since.
func TestEveryReplicaEnforcesRego(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	forbidHosts(t, a, "no-forbidden-hosts", "forbidden.replicas.example")

	replicas := []*replica{newReplica(t, a), newReplica(t, a)}
	for _, r := range replicas {
		r.start(t)
	}
	ctx := context.Background()
	for _, r := range replicas {
		if err := testenv.Eventually(ctx, time.Minute, r.ready); err != nil {
			t.Fatalf("replica %s never ready: %v", r.addr, err)
		}
	}
	// Ready means the policies are in: no waiting from here on.
	for _, r := range replicas {
		mustRefuse(t, "replica "+r.addr, r.review(t, "policed", "site", "forbidden.replicas.example"), "[no-forbidden-hosts] hostname forbidden.replicas.example is forbidden")
	}
	// One leads, the other stands by; the standby refused just the same.
	if err := testenv.Eventually(ctx, 30*time.Second, func() error {
		if l0, l1 := replicas[0].leads(), replicas[1].leads(); l0 == l1 {
			return fmt.Errorf("leading: %v, %v", l0, l1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	standby := replicas[0]
	if standby.leads() {
		standby = replicas[1]
	}
	mustRefuse(t, "the standby", standby.review(t, "policed", "site", "forbidden.replicas.example"), "no-forbidden-hosts")

	// A constraint added now reaches the standby too.
	if err := a.client().Create(ctx, testenv.ForbiddenHosts("no-later-hosts", "later.replicas.example")); err != nil {
		t.Fatal(err)
	}
	for _, r := range replicas {
		if err := testenv.Eventually(ctx, 30*time.Second, func() error {
			if resp := r.review(t, "policed", "site", "later.replicas.example"); resp.Allowed {
				return fmt.Errorf("replica %s (leader: %v) admits what no-later-hosts forbids", r.addr, r.leads())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Hostnames no constraint names pass.
	if resp := standby.review(t, "policed", "site", "allowed.replicas.example"); !resp.Allowed {
		t.Fatalf("the standby refused an allowed hostname: %+v", resp.Result)
	}
}

// TestReplicaIsNotReadyBeforeItsPoliciesAreIn: a replica starting while
// constraints exist reports not ready until its engine holds them, and the
// first moment it is ready it refuses what they forbid.
func TestReplicaIsNotReadyBeforeItsPoliciesAreIn(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	forbidHosts(t, a, "no-early-hosts", "early.replicas.example")

	r := newReplica(t, a)
	if err := r.webhook.Ready(nil); err == nil || !strings.Contains(err.Error(), "policies") {
		t.Fatalf("ready before starting: %v", err)
	}
	r.start(t)
	ctx := context.Background()
	err := testenv.Eventually(ctx, time.Minute, func() error { return r.webhook.Ready(nil) })
	if err != nil {
		t.Fatalf("never ready: %v", err)
	}
	mustRefuse(t, "a replica just ready", r.review(t, "policed", "site", "early.replicas.example"), "[no-early-hosts]")
	if err := r.ready(); err != nil {
		t.Fatalf("Ready passes but the probe says %v", err)
	}
}
