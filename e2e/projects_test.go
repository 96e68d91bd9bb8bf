package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// SelfServiceInput describes a casual user's first Project.
type SelfServiceInput struct {
	User    string
	Project *tenancyv1.Project
	Timeout time.Duration
}

// SelfServiceProject: a user creates a Project, it becomes Ready with them
// as owner, and they can work in its namespace while another user cannot.
func SelfServiceProject(ctx context.Context, t *testing.T, in SelfServiceInput) {
	t.Helper()
	user, err := f.env.ClientAs(in.User)
	if err != nil {
		t.Fatal(err)
	}
	if err := user.Create(ctx, in.Project.DeepCopy()); err != nil {
		t.Fatalf("%s creating Project %s: %v", in.User, in.Project.Name, err)
	}
	p := waitReady(ctx, t, in.Project.Name, in.Timeout)
	if p.Spec.Owner != in.User {
		t.Fatalf("owner %q, want %q", p.Spec.Owner, in.User)
	}
	err = testenv.Eventually(ctx, 10*time.Second, func() error {
		return user.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: p.Name}})
	})
	if err != nil {
		t.Fatalf("owner cannot work in the namespace: %v", err)
	}
	stranger, _ := f.env.ClientAs(in.User + "-stranger")
	if err := stranger.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(p.Name)); err == nil {
		t.Fatalf("a stranger listed the namespace")
	}
}

// deleteProjectAs deletes a Project as user the way kubectl delete does
// (and waits until it is gone, with its namespace).
func deleteProjectAs(ctx context.Context, t *testing.T, env *testenv.Env, user, name string) {
	t.Helper()
	if err := testenv.KubectlDelete(ctx, env.UserConfig(user), tenancyv1.GroupVersion.WithResource("projects"), "", name); err != nil {
		t.Fatal(err)
	}
}

func waitReady(ctx context.Context, t *testing.T, name string, timeout time.Duration) *tenancyv1.Project {
	t.Helper()
	p := &tenancyv1.Project{}
	err := testenv.Eventually(ctx, timeout, func() error {
		if err := f.env.Client.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(p.Status.Conditions, tenancyv1.ReadyCondition) || p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("Project %s not ready: %v", name, p.Status.Conditions)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleProjectAsCasualUser(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	raw, err := testenv.ReadYAMLDocuments(f.env.Root + "/docs/examples/project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	example := &tenancyv1.Project{}
	if err := yaml.Unmarshal(raw[0], example); err != nil {
		t.Fatal(err)
	}
	SelfServiceProject(context.Background(), t, SelfServiceInput{User: "alice", Project: example, Timeout: time.Minute})
}

// TestOperatorFailover: Projects created while a replica of the
// operator (perhaps its leader) is killed are provisioned by the other
// replica once the lease runs out, and nothing is lost; then the
// Deployment has its two replicas again.
func TestOperatorFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx := context.Background()
	SelfServiceProject(ctx, t, SelfServiceInput{User: "erin", Project: &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "failover-0"}}, Timeout: time.Minute})

	// Kill one replica without notice; create Projects meanwhile; the
	// survivor provisions all of them once the shipped lease (15s) runs
	// out.
	operator := f.member.Deployment(components.Projects)
	killed := operator.Pods()[0]
	operator.Kill(killed)
	names := []string{}
	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("failover-%d", i)
		names = append(names, name)
		user, _ := f.env.ClientAs(fmt.Sprintf("failover-user-%d", i))
		if err := user.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		p := waitReady(ctx, t, n, 2*time.Minute)
		ns := &corev1.Namespace{}
		if err := f.env.Client.Get(ctx, client.ObjectKey{Name: n}, ns); err != nil || !metav1.IsControlledBy(ns, p) {
			t.Fatalf("namespace %s: %v", n, err)
		}
	}
	if _, err := operator.Replace(ctx, killed); err != nil {
		t.Fatal(err)
	}
	if err := operator.WaitReady(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
}
