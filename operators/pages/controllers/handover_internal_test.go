package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	"github.com/atrium-dev/atrium/internal/manager"
)

// Sites a, b and c share the Service, which a owns alone. a and b are
// deleted at the same moment; the cache does not show b's deletion yet.
// a's hand-over must not leave the Service to b alone (b's own hand-over
// may have read the Service before b was made an owner, and then the
// Service would go with b while c is still there): it checks the heir
// with the API server and makes c an owner too.
func TestHandOverSkipsAnHeirBeingDeleted(t *testing.T) {
	scheme := manager.Scheme()
	gone := metav1.NewTime(time.Now())
	site := func(name string, deleting bool) *pagesv1.GitLabPagesSite {
		s := &pagesv1.GitLabPagesSite{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: name, UID: types.UID("uid-" + name)}}
		if deleting {
			s.DeletionTimestamp, s.Finalizers = &gone, []string{pagesv1.Finalizer}
		}
		return s
	}
	a := site("a", true)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: ServiceName, OwnerReferences: []metav1.OwnerReference{siteOwner(a)}}}
	cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(a, site("b", false), site("c", false), svc.DeepCopy()).Build()
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(site("a", true), site("b", true), site("c", false), svc.DeepCopy()).Build()
	r := &SiteReconciler{Client: cache, Secrets: api}
	if err := r.handOver(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	got := &corev1.Service{}
	if err := cache.Get(context.Background(), client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatal(err)
	}
	owners := map[types.UID]bool{}
	for _, ref := range got.OwnerReferences {
		owners[ref.UID] = true
	}
	if !owners["uid-c"] {
		t.Fatalf("the Service's owners after a's hand-over are %v: c, the one live site, is not among them", got.OwnerReferences)
	}
}
