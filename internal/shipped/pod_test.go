package shipped

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"CLUSTER_NAME": "member-1", "EMPTY": ""}
	for _, tc := range []struct{ in, want string }{
		{"--cluster-name=$(CLUSTER_NAME)", "--cluster-name=member-1"},
		{"--x=$(EMPTY)", "--x="},
		// Undefined references stay as written, as the kubelet leaves them.
		{"--x=$(UNSET)", "--x=$(UNSET)"},
		{"--price=$$(CLUSTER_NAME)", "--price=$(CLUSTER_NAME)"},
		{"$(CLUSTER_NAME)-$(CLUSTER_NAME)", "member-1-member-1"},
	} {
		if got := expand(tc.in, vars); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLocalArg(t *testing.T) {
	mounts := [][2]string{{"/etc/atrium/hub", "/pod/mounts/etc/atrium/hub"}, {"/etc/atrium", "/pod/mounts/etc/atrium"}}
	ports := map[int32]int{8080: 40001, 9443: 40002}
	for _, tc := range []struct{ in, want string }{
		{"--hub-kubeconfig=/etc/atrium/hub/kubeconfig", "--hub-kubeconfig=/pod/mounts/etc/atrium/hub/kubeconfig"},
		{"--cert-dir=/etc/atrium", "--cert-dir=/pod/mounts/etc/atrium"},
		// A path that only starts like a mount is not under it.
		{"--file=/etc/atriumx/a", "--file=/etc/atriumx/a"},
		{"--metrics-bind-address=:8080", "--metrics-bind-address=127.0.0.1:40001"},
		{"--metrics-bind-address=0.0.0.0:8080", "--metrics-bind-address=127.0.0.1:40001"},
		{"--webhook-port=9443", "--webhook-port=40002"},
		// Numbers that are not declared ports are left alone.
		{"--batch-size=200", "--batch-size=200"},
		{"--metrics-bind-address=:9999", "--metrics-bind-address=:9999"},
		{"--leader-elect=true", "--leader-elect=true"},
		{"positional", "positional"},
	} {
		if got := localArg(tc.in, mounts, ports); got != tc.want {
			t.Errorf("localArg(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "atrium-system", Name: "atrium-cluster"}, Data: map[string]string{"name": "member-1"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "atrium-system", Name: "creds"}, Data: map[string][]byte{"token": []byte("s3cr3t")}},
	).Build()
	cluster := fakeCluster{c}
	cmRef := func(name, key string, optional bool) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptr.To(optional)}}
	}
	ctr := corev1.Container{Env: []corev1.EnvVar{
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "CLUSTER_NAME", ValueFrom: cmRef("atrium-cluster", "name", false)},
		{Name: "GREETING", Value: "hello $(CLUSTER_NAME)"},
		{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
		{Name: "MISSING_OK", ValueFrom: cmRef("atrium-cluster", "nope", true)},
	}}
	got, err := containerEnv(context.Background(), cluster, "atrium-system", "pod-0", ctr)
	if err != nil {
		t.Fatal(err)
	}
	want := "POD_NAMESPACE=atrium-system CLUSTER_NAME=member-1 GREETING=hello member-1 TOKEN=s3cr3t"
	if strings.Join(got, " ") != want {
		t.Fatalf("env = %q, want %q", strings.Join(got, " "), want)
	}

	// A key that is not optional and missing keeps the pod from starting.
	ctr.Env = []corev1.EnvVar{{Name: "X", ValueFrom: cmRef("atrium-cluster", "nope", false)}}
	if _, err := containerEnv(context.Background(), cluster, "atrium-system", "pod-0", ctr); err == nil {
		t.Fatal("a missing required key was accepted")
	}
	ctr.Env = []corev1.EnvVar{{Name: "X", ValueFrom: cmRef("absent", "name", false)}}
	if _, err := containerEnv(context.Background(), cluster, "atrium-system", "pod-0", ctr); err == nil {
		t.Fatal("a missing ConfigMap was accepted")
	}

	// The container's own resources, in units of the divisor, rounded up.
	resRef := func(res, divisor string) *corev1.EnvVarSource {
		ref := &corev1.ResourceFieldSelector{Resource: res}
		if divisor != "" {
			ref.Divisor = resource.MustParse(divisor)
		}
		return &corev1.EnvVarSource{ResourceFieldRef: ref}
	}
	ctr.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	ctr.Env = []corev1.EnvVar{
		{Name: "LIMIT", ValueFrom: resRef("limits.memory", "")},
		{Name: "REQUEST_MI", ValueFrom: resRef("requests.memory", "1Mi")},
		{Name: "CPU", ValueFrom: resRef("requests.cpu", "")},
	}
	got, err = containerEnv(context.Background(), cluster, "atrium-system", "pod-0", ctr)
	if want := "LIMIT=1073741824 REQUEST_MI=256 CPU=1"; err != nil || strings.Join(got, " ") != want {
		t.Fatalf("env = %q, %v; want %q", strings.Join(got, " "), err, want)
	}
	ctr.Env = []corev1.EnvVar{{Name: "X", ValueFrom: resRef("limits.cpu", "")}}
	if _, err := containerEnv(context.Background(), cluster, "atrium-system", "pod-0", ctr); err == nil {
		t.Fatal("a limit the container does not set was given a value")
	}
}

func TestBinary(t *testing.T) {
	for _, tc := range []struct{ image, bin string }{
		{"atrium/operators-dns:latest", "atrium-operators-dns"},
		{"registry.example.org/atrium/webhooks-hostnames@sha256:abc", "atrium-webhooks-hostnames"},
		{"atrium/operators-gitlab-pages", "atrium-operators-gitlab-pages"},
	} {
		if got := Binary(tc.image); got != tc.bin {
			t.Errorf("Binary(%q) = %q, want %q", tc.image, got, tc.bin)
		}
	}
}

type fakeCluster struct{ client.Reader }

func (fakeCluster) ServiceAccountKubeConfig(string, string) ([]byte, error) { return nil, nil }
