package controllers

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// route makes the site's Service and Ingress, owned by the site, and
// puts back what was changed in them. An object of the same name that
// the site does not own is left alone and reported.
func (r *SiteReconciler) route(ctx context.Context, site *pagesv1.GitLabPagesSite) (outcome, bool) {
	// The two are independent: written at once, a site waits for one
	// round trip to the API server rather than two.
	var svcOutcome outcome
	var svcOK bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		svcOutcome, svcOK = r.ensure(ctx, site, "Service", desiredService(site, r.Front), &corev1.Service{}, func(live, want client.Object) bool {
			l, w := live.(*corev1.Service), want.(*corev1.Service)
			if l.Spec.Type == w.Spec.Type && l.Spec.ExternalName == w.Spec.ExternalName && equality.Semantic.DeepEqual(l.Spec.Ports, w.Spec.Ports) {
				return false
			}
			l.Spec.Type, l.Spec.ExternalName, l.Spec.Ports = w.Spec.Type, w.Spec.ExternalName, w.Spec.Ports
			return true
		})
	}()
	ingOutcome, ingOK := r.ensure(ctx, site, "Ingress", desiredIngress(site, r.Front), &networkingv1.Ingress{}, func(live, want client.Object) bool {
		l, w := live.(*networkingv1.Ingress), want.(*networkingv1.Ingress)
		if equality.Semantic.DeepEqual(l.Spec, w.Spec) {
			return false
		}
		l.Spec = w.Spec
		return true
	})
	<-done
	if !svcOK {
		return svcOutcome, false
	}
	return ingOutcome, ingOK
}

// ensure creates want, or puts back what drifted in the object; both
// carry the site's labels and owner. Drift is judged on the cache's
// projection of the object (TrimRoute); a repair reads the object itself
// and updates that, so that what others wrote on it stays as they wrote
// it.
func (r *SiteReconciler) ensure(ctx context.Context, site *pagesv1.GitLabPagesSite, kind string, want, live client.Object, differ func(live, want client.Object) bool) (outcome, bool) {
	if err := controllerutil.SetControllerReference(site, want, r.Client.Scheme()); err != nil {
		return outcome{ready: ready(metav1.ConditionFalse, "InternalError", "%v", err), failed: true}, false
	}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), live)
	switch {
	case apierrors.IsNotFound(err):
		err := r.Client.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) {
			// The cache holds only objects labelled as a site's, and may
			// not hold one just made: read the object itself, and put its
			// labels back if that is why the cache has not got it.
			return r.repair(ctx, site, kind, want, live, differ)
		}
		if err != nil {
			return r.writeFailed(kind, want, err), false
		}
		r.event(site, corev1.EventTypeNormal, kind+"Created", "Create", "Created %s %s towards the pages front %s", kind, want.GetName(), r.Front.Host)
		return outcome{}, true
	case err != nil:
		return outcome{ready: ready(metav1.ConditionFalse, "ReadFailed", "reading %s %s: %v", kind, want.GetName(), err), failed: true}, false
	}
	if !metav1.IsControlledBy(live, site) {
		return conflict(kind, want, site), false
	}
	// live is the cache's copy: the differ may change it.
	if !differ(live, want) && !labelsDrifted(live.GetLabels(), want.GetLabels()) {
		return outcome{}, true
	}
	return r.repair(ctx, site, kind, want, live, differ)
}

// repair reads the object from the API server and, when it is the site's
// and has drifted, updates it with what the site wants. It reads into an
// object of its own: a decoder merges into the maps of the one it is
// given, and the cache's projection (LabelsAsWanted) must not reach the
// API server.
func (r *SiteReconciler) repair(ctx context.Context, site *pagesv1.GitLabPagesSite, kind string, want, cached client.Object, differ func(live, want client.Object) bool) (outcome, bool) {
	live := reflect.New(reflect.TypeOf(cached).Elem()).Interface().(client.Object)
	if err := r.Secrets.Get(ctx, client.ObjectKeyFromObject(want), live); err != nil {
		return outcome{ready: ready(metav1.ConditionFalse, "ReadFailed", "reading %s %s: %v", kind, want.GetName(), err), failed: true}, false
	}
	if !metav1.IsControlledBy(live, site) {
		return conflict(kind, want, site), false
	}
	changed := differ(live, want)
	labels := live.GetLabels()
	for k, v := range want.GetLabels() {
		if labels[k] != v {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k], changed = v, true
		}
	}
	if !changed {
		return outcome{}, true
	}
	live.SetLabels(labels)
	if err := r.Client.Update(ctx, live); err != nil {
		return r.writeFailed(kind, want, err), false
	}
	return outcome{}, true
}

// labelsDrifted says whether labels (as the cache keeps them) lack one of
// want's.
func labelsDrifted(labels, want map[string]string) bool {
	if _, ok := labels[LabelsAsWanted]; ok {
		return false
	}
	for k, v := range want {
		if labels[k] != v {
			return true
		}
	}
	return false
}

func conflict(kind string, want client.Object, site *pagesv1.GitLabPagesSite) outcome {
	return outcome{ready: ready(metav1.ConditionFalse, kind+"Conflict",
		"%s %s already exists in namespace %s and is not this site's; rename or remove it", kind, want.GetName(), site.Namespace)}
}

// writeFailed says why an Ingress or Service could not be written: the
// hostnames webhook's refusal is the user's to read.
func (r *SiteReconciler) writeFailed(kind string, obj client.Object, err error) outcome {
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return outcome{ready: ready(metav1.ConditionFalse, kind+"Refused", "%s %s was refused: %v", kind, obj.GetName(), err)}
	}
	return outcome{ready: ready(metav1.ConditionFalse, "WriteFailed", "writing %s %s: %v", kind, obj.GetName(), err), failed: true}
}
