package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// LimitUnderConcurrencyInput names a user, a tier of the admin's and how
// hard the user tries.
type LimitUnderConcurrencyInput struct {
	User, Tier string
	Limit      int32
	Attempts   int
	Timeout    time.Duration
}

// LimitUnderConcurrency: a user fires many creates at once at the shipped
// webhook, whose replicas each decide some of them; exactly the tier's
// limit is admitted. The user then deletes them as kubectl does and
// nothing is left: no namespace, no role, no slot counting against them.
func LimitUnderConcurrency(ctx context.Context, t *testing.T, in LimitUnderConcurrencyInput) {
	t.Helper()
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: in.Tier},
		Spec:       tenancyv1.ProjectTierSpec{SelfService: true, MaxProjectsPerUser: ptr.To(in.Limit)},
	}
	if err := f.env.Client.Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.env.Client.Delete(context.Background(), tier) }()
	user, err := f.env.ClientAs(in.User)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var admitted []string
	var wg sync.WaitGroup
	for i := range in.Attempts {
		name := fmt.Sprintf("%s-%d", in.User, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1.ProjectSpec{Tier: in.Tier}}
			err := user.Create(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				admitted = append(admitted, name)
			case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "already owns"):
			default:
				t.Errorf("create %s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	if len(admitted) != int(in.Limit) {
		t.Errorf("%d of %d concurrent creates admitted (%v), want exactly %d", len(admitted), in.Attempts, admitted, in.Limit)
	}
	gvr := tenancyv1.GroupVersion.WithResource("projects")
	for _, name := range admitted {
		waitReady(ctx, t, name, in.Timeout)
		if err := testenv.KubectlDelete(ctx, f.env.UserConfig(in.User), gvr, "", name); err != nil {
			t.Fatal(err)
		}
		if left := projectLeftovers(ctx, t, name); len(left) > 0 {
			t.Errorf("Project %s deleted, left behind: %v", name, left)
		}
		if err := f.env.Client.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s: %v", name, err)
		}
	}
}

func TestLimitUnderConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	LimitUnderConcurrency(ctx, t, LimitUnderConcurrencyInput{User: "rita", Tier: "e2e-race", Limit: 2, Attempts: 50, Timeout: time.Minute})
}

// HandOverInput names a Project, its owner and the user it goes to.
type HandOverInput struct {
	Project, Owner, Recipient string
	Timeout                   time.Duration
}

// HandOver: the owner offers a Project, the recipient (who could read
// nothing of it before) accepts; the recipient administers the namespace,
// the previous owner no longer does, and the new owner deletes it with
// nothing left behind.
func HandOver(ctx context.Context, t *testing.T, in HandOverInput) {
	t.Helper()
	owner, err := f.env.ClientAs(in.Owner)
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := f.env.ClientAs(in.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	if err := recipient.Get(ctx, client.ObjectKey{Name: in.Project}, &tenancyv1.Project{}); !apierrors.IsForbidden(err) {
		t.Fatalf("before the offer the recipient reads the Project: %v", err)
	}
	patch := func(c client.Client, spec string) error {
		p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}
		return c.Patch(ctx, p, client.RawPatch("application/merge-patch+json", []byte(`{"spec":`+spec+`}`)))
	}
	if err := patch(owner, fmt.Sprintf(`{"handOverTo":%q}`, in.Recipient)); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error { return patch(recipient, fmt.Sprintf(`{"owner":%q}`, in.Recipient)) })
	if err != nil {
		t.Fatalf("the recipient cannot accept: %v", err)
	}
	cm := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Project}}
	}
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return recipient.Create(ctx, cm("new-owner")) }); err != nil {
		t.Fatalf("the new owner cannot work in the namespace: %v", err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if err := owner.Create(ctx, cm("old-owner")); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the previous owner still works in the namespace: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gvr := tenancyv1.GroupVersion.WithResource("projects")
	if err := testenv.KubectlDelete(ctx, f.env.UserConfig(in.Recipient), gvr, "", in.Project); err != nil {
		t.Fatal(err)
	}
	if left := projectLeftovers(ctx, t, in.Project); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	HandOver(ctx, t, HandOverInput{Project: "handed-over", Owner: "hugo", Recipient: "hana", Timeout: time.Minute})
}
