package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/testenv"
)

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

// project makes a Project owned by owner and its namespace, as the
// projects operator would, and returns the namespace.
func project(t *testing.T, name, owner string, admins ...string) string {
	t.Helper()
	ctx := context.Background()
	p := &tenancyv1.Project{ObjectMeta: metaName(name), Spec: tenancyv1.ProjectSpec{Owner: owner}}
	for _, a := range admins {
		p.Spec.Admins = append(p.Spec.Admins, tenancyv1.Subject{Kind: tenancyv1.UserSubject, Name: a})
	}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{tenancyv1.ProjectLabel: name}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return name
}

type siteOpt func(*pagesv1.GitLabPagesSite)

func private(s *pagesv1.GitLabPagesSite) { s.Spec.Access = pagesv1.AccessPrivate }

func withSecret(name string) siteOpt {
	return func(s *pagesv1.GitLabPagesSite) {
		s.Spec.TLS = pagesv1.SiteTLS{Source: pagesv1.CertificateSecret, SecretName: name}
	}
}

func site(t *testing.T, ns, name, gitlabProject, host string, opts ...siteOpt) *pagesv1.GitLabPagesSite {
	t.Helper()
	s := &pagesv1.GitLabPagesSite{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       pagesv1.GitLabPagesSiteSpec{Project: gitlabProject, Hostname: host},
	}
	for _, o := range opts {
		o(s)
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitCondition waits until the site's condition typ has reason, and
// returns the site as it was then.
func waitCondition(t *testing.T, s *pagesv1.GitLabPagesSite, typ, reason string) *pagesv1.GitLabPagesSite {
	t.Helper()
	got := &pagesv1.GitLabPagesSite{}
	err := testenv.Eventually(context.Background(), timeout, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(s), got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, typ)
		if c == nil || c.Reason != reason || c.ObservedGeneration != got.Generation {
			return fmt.Errorf("%s = %+v, want reason %s", typ, c, reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func waitReady(t *testing.T, s *pagesv1.GitLabPagesSite) *pagesv1.GitLabPagesSite {
	t.Helper()
	return waitCondition(t, s, pagesv1.ConditionReady, "Published")
}

// deleteSite deletes a site and waits until it is gone.
func deleteSite(t *testing.T, s *pagesv1.GitLabPagesSite) {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	gone(t, s)
}

func gone(t *testing.T, obj client.Object) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, func() error {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%T %s still there (%v)", obj, obj.GetName(), err)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitGitLab waits until f holds of GitLab's state.
func waitGitLab(t *testing.T, what string, f func() bool) {
	t.Helper()
	err := testenv.Eventually(context.Background(), timeout, func() error {
		if !f() {
			return fmt.Errorf("GitLab: not yet %s", what)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// certificate is a certificate for host and its key, PEM, issued by the
// suite's CA (testenv's, as for the webhooks' serving certificates).
func certificate(t *testing.T, host string) (crt, key []byte) {
	t.Helper()
	caOnce.Do(func() { ca, caErr = testenv.NewCA("pages-test") })
	if caErr != nil {
		t.Fatal(caErr)
	}
	crt, key, err := ca.Serving(host)
	if err != nil {
		t.Fatal(err)
	}
	return crt, key
}

var (
	caOnce sync.Once
	ca     *testenv.CA
	caErr  error
)

func tlsSecret(t *testing.T, ns, name string, crt, key []byte) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key}}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// writes counts the requests that change GitLab.
func writes() int {
	n := 0
	for route, c := range gl.Counts() {
		if len(route) > 4 && route[:4] != "GET " {
			n += c
		}
	}
	return n
}

// updateSite changes a site as its user would, on its latest version.
func updateSite(t *testing.T, s *pagesv1.GitLabPagesSite, change func(*pagesv1.GitLabPagesSite)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(s), s); err != nil {
			return err
		}
		change(s)
		return env.Client.Update(context.Background(), s)
	})
	if err != nil {
		t.Fatal(err)
	}
}
