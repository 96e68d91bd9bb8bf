package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/shipped"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// EveryReplicaEnforcesInput describes an admin's policy and a hostname it
// refuses.
type EveryReplicaEnforcesInput struct {
	Constraint, Hostname, Namespace string
	Timeout                         time.Duration
}

// EveryReplicaEnforces: once an admin has loaded a ConstraintTemplate and
// a constraint, every serving replica of the hostnames webhook (the
// leader and the standby alike) refuses what the constraint forbids, asked
// directly, as the API server would ask whichever replica its connection
// reaches; and a replica started afterwards does before it is ready.
func EveryReplicaEnforces(ctx context.Context, t *testing.T, in EveryReplicaEnforcesInput) {
	t.Helper()
	c := f.env.Client
	if err := c.Create(ctx, testenv.ForbiddenHostsTemplate()); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	constraint := testenv.ForbiddenHosts(in.Constraint, in.Hostname)
	// The constraint kind is served once a replica has loaded the template.
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return c.Create(ctx, constraint.DeepCopy()) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	hostnames := f.member.Deployment(components.Hostnames)
	refuses := func(p *shipped.Pod) error {
		resp, err := askReplica(ctx, p, in.Namespace, in.Hostname)
		if err != nil {
			return err
		}
		if resp.Allowed || !strings.Contains(resp.Result.Message, in.Constraint) {
			return fmt.Errorf("replica %s admitted %s: %+v", p.Name, in.Hostname, resp.Result)
		}
		return nil
	}
	pods := hostnames.Pods()
	if len(pods) < 2 {
		t.Fatalf("the hostnames webhook runs %d replicas, want the shipped 2", len(pods))
	}
	for _, p := range pods {
		if err := testenv.Eventually(ctx, in.Timeout, func() error { return refuses(p) }); err != nil {
			t.Fatal(err)
		}
	}
	// A replica that starts now (a rollout, a rescheduled pod) refuses it
	// as soon as it is ready: readiness waits for the policies.
	fresh, err := hostnames.Replace(ctx, pods[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := hostnames.WaitReady(ctx, in.Timeout); err != nil {
		t.Fatal(err)
	}
	if err := refuses(fresh); err != nil {
		t.Fatalf("a replica that just became ready: %v", err)
	}
	// And through the API server, whichever replica answers.
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: in.Namespace, Name: "forbidden"},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: in.Hostname}}},
	}
	for i := 0; i < 6; i++ {
		if err := c.Create(ctx, ing.DeepCopy(), client.DryRunAll); err == nil || !strings.Contains(err.Error(), in.Constraint) {
			t.Fatalf("the API server admitted %s: %v", in.Hostname, err)
		}
	}
	if err := c.Delete(ctx, constraint); err != nil {
		t.Fatal(err)
	}
}

// askReplica sends one replica the AdmissionReview the API server would
// send for creating an Ingress with the hostname.
func askReplica(ctx context.Context, p *shipped.Pod, namespace, host string) (*admissionv1.AdmissionResponse, error) {
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "asked", UID: types.UID("e2e-asked")},
		Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: host}}},
	}
	raw, err := json.Marshal(ing)
	if err != nil {
		return nil, err
	}
	dry := true
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(fmt.Sprintf("e2e-%d", time.Now().UnixNano())),
			Kind:      metav1.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
			Resource:  metav1.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
			Namespace: namespace, Name: ing.Name, Operation: admissionv1.Create,
			UserInfo: authenticationv1.UserInfo{Username: "e2e-admin", Groups: []string{"system:authenticated"}},
			Object:   runtime.RawExtension{Raw: raw},
			// A dry run reserves nothing at the hub.
			DryRun: &dry,
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/validate-hostnames", p.Port(9444))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// The serving certificate is the one the webhook configurations
		// trust; this asks the replica, it does not test TLS.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test request
	}}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := admissionv1.AdmissionReview{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out.Response == nil {
		return nil, fmt.Errorf("replica %s answered no response", p.Name)
	}
	return out.Response, nil
}

func TestEveryHostnamesReplicaEnforcesTheSameRego(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	EveryReplicaEnforces(context.Background(), t, EveryReplicaEnforcesInput{
		Constraint: "no-legacy-portal", Hostname: "legacy.e2e.example.org", Namespace: "policed", Timeout: time.Minute,
	})
}
