package controllers

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// route makes the site's Ingress, owned by the site, and the namespace's
// Service it routes to (ServiceName), owned by one of the namespace's
// sites; it puts back what was changed in either, and then removes the Service
// the site had of its own before. An object of the same name that is not
// the site's (the Ingress) or no site's (the Service) is left alone and
// reported.
func (r *SiteReconciler) route(ctx context.Context, site *pagesv1.GitLabPagesSite) (outcome, bool) {
	// The two are independent: written at once, a site waits for one
	// round trip to the API server rather than two.
	var svcOutcome outcome
	var svcOK bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		svcOutcome, svcOK = r.service(ctx, site)
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
	if !ingOK {
		return ingOutcome, false
	}
	return r.dropOwnService(ctx, site)
}

// service makes the namespace's Service, or makes the site one of its
// owners when no site that is not being deleted owns it, and puts back
// its spec and labels when they have drifted. The Service keeps one live
// owner or a few (not one a site: every write of an owner would rewrite
// all of them), and a site going hands it over first (handOver). The
// sites of a namespace do this at once: an owner is added by a strategic
// merge patch (owner references merge by UID, so no site undoes
// another's) and a repair is a merge patch of the fields the operator
// sets, which every site sets alike and which leaves what others wrote.
func (r *SiteReconciler) service(ctx context.Context, site *pagesv1.GitLabPagesSite) (outcome, bool) {
	want := desiredService(site.Namespace, r.Front)
	key := client.ObjectKeyFromObject(want)
	svc := &corev1.Service{}
	err := r.Client.Get(ctx, key, svc)
	switch {
	case apierrors.IsNotFound(err):
		want.OwnerReferences = []metav1.OwnerReference{siteOwner(site)}
		err := r.Client.Create(ctx, want)
		if err == nil {
			r.event(site, corev1.EventTypeNormal, "ServiceCreated", "Create", "Created Service %s towards the pages front %s, for the sites of namespace %s", ServiceName, r.Front.Host, site.Namespace)
			return outcome{}, true
		}
		if !apierrors.IsAlreadyExists(err) {
			return r.writeFailed("Service", want, err), false
		}
		// Made meanwhile by another site, or not in the cache because its
		// labels were taken off: read the Service itself.
		svc = &corev1.Service{}
		if err := r.Secrets.Get(ctx, key, svc); err != nil {
			return outcome{ready: ready(metav1.ConditionFalse, "ReadFailed", "reading Service %s: %v", ServiceName, err), failed: true}, false
		}
	case err != nil:
		return outcome{ready: ready(metav1.ConditionFalse, "ReadFailed", "reading Service %s: %v", ServiceName, err), failed: true}, false
	}
	if !sitesService(svc) {
		return conflict("Service", want, site), false
	}
	live, err := r.liveOwner(ctx, svc, "")
	if err != nil {
		return outcome{ready: ready(metav1.ConditionFalse, "ReadFailed", "reading the owners of Service %s: %v", ServiceName, err), failed: true}, false
	}
	if live == "" {
		if err := r.addOwner(ctx, svc, site); err != nil {
			return r.writeFailed("Service", want, err), false
		}
	}
	if !serviceDrifted(svc, want) && !labelsDrifted(svc.Labels, want.Labels) {
		return outcome{}, true
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"labels": want.Labels},
		"spec":     map[string]any{"type": want.Spec.Type, "externalName": want.Spec.ExternalName, "ports": want.Spec.Ports},
	})
	if err == nil {
		err = r.Client.Patch(ctx, svc, client.RawPatch(types.MergePatchType, patch))
	}
	if err != nil {
		return r.writeFailed("Service", want, err), false
	}
	return outcome{}, true
}

// handOver, for a site being deleted, makes another site of the namespace
// an owner of the shared Service when this one is the last live owner,
// so that the garbage collector, once this site is gone, removes its
// reference and leaves the Service to the others. With no other site
// left the Service goes with this one.
//
// Sites of a namespace deleted at the same moment race here; every read
// that decides is the API server's (r.Secrets), not the cache's, so that
// one of them always hands over. The Service is read live, so a site
// made an owner a moment ago by another going site sees it and hands
// over in turn. An heir is checked live after it was made an owner: if
// it is being deleted by then, its own hand-over may have read the
// Service before it was made one, and the next site is made an owner.
func (r *SiteReconciler) handOver(ctx context.Context, site *pagesv1.GitLabPagesSite) error {
	svc := &corev1.Service{}
	err := r.Secrets.Get(ctx, client.ObjectKey{Namespace: site.Namespace, Name: ServiceName}, svc)
	if apierrors.IsNotFound(err) || (err == nil && (!sitesService(svc) || !ownedBy(svc, site))) {
		return nil
	}
	if err != nil {
		return err
	}
	if live, err := r.liveOwner(ctx, svc, site.UID); err != nil || live != "" {
		return err
	}
	sites := &pagesv1.GitLabPagesSiteList{}
	if err := r.Client.List(ctx, sites, client.InNamespace(site.Namespace)); err != nil {
		return err
	}
	for i := range sites.Items {
		heir := &sites.Items[i]
		if heir.UID == site.UID || !heir.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.addOwner(ctx, svc, heir); err != nil {
			return err
		}
		if ok, err := r.liveSite(ctx, heir.Namespace, heir.Name, heir.UID); err != nil || ok {
			return err
		}
	}
	return nil
}

// liveOwner is the UID of an owner of the Service, other than except,
// that is a site of the namespace not being deleted, as the API server
// has it ("" for none).
func (r *SiteReconciler) liveOwner(ctx context.Context, svc *corev1.Service, except types.UID) (types.UID, error) {
	for _, ref := range svc.OwnerReferences {
		if ref.UID == except || !isSite(ref) {
			continue
		}
		if ok, err := r.liveSite(ctx, svc.Namespace, ref.Name, ref.UID); err != nil || ok {
			return ref.UID, err
		}
	}
	return "", nil
}

// liveSite says whether the API server has the site of that name and UID,
// not being deleted.
func (r *SiteReconciler) liveSite(ctx context.Context, namespace, name string, uid types.UID) (bool, error) {
	s := &pagesv1.GitLabPagesSite{}
	err := r.Secrets.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.UID == uid && s.DeletionTimestamp.IsZero(), nil
}

// addOwner adds the site to the Service's owners.
func (r *SiteReconciler) addOwner(ctx context.Context, svc *corev1.Service, site *pagesv1.GitLabPagesSite) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{siteOwner(site)}}})
	if err != nil {
		return err
	}
	return r.Client.Patch(ctx, svc, client.RawPatch(types.StrategicMergePatchType, patch))
}

// serviceDrifted says whether the Service's type, external name or ports
// are not what the operator sets.
func serviceDrifted(svc, want *corev1.Service) bool {
	return svc.Spec.Type != want.Spec.Type || svc.Spec.ExternalName != want.Spec.ExternalName ||
		!equality.Semantic.DeepEqual(svc.Spec.Ports, want.Spec.Ports)
}

// siteOwner is the site as one of the owners of its namespace's Service:
// not its controller (it shares the Service), and not blocking its own
// deletion on it.
func siteOwner(site *pagesv1.GitLabPagesSite) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: pagesv1.GroupVersion.String(), Kind: "GitLabPagesSite", Name: site.Name, UID: site.UID}
}

// sitesService says whether a Service is owned by sites: one that is not
// was made by someone else and is not the operator's to change.
func sitesService(svc *corev1.Service) bool {
	for _, ref := range svc.OwnerReferences {
		if isSite(ref) {
			return true
		}
	}
	return false
}

// isSite says whether an owner reference names a GitLabPagesSite.
func isSite(ref metav1.OwnerReference) bool {
	return ref.Kind == "GitLabPagesSite" && strings.HasPrefix(ref.APIVersion, pagesv1.GroupVersion.Group+"/")
}

// ownedBy says whether the site is among the Service's owners.
func ownedBy(svc *corev1.Service, site *pagesv1.GitLabPagesSite) bool {
	for _, ref := range svc.OwnerReferences {
		if ref.UID == site.UID {
			return true
		}
	}
	return false
}

// dropOwnService deletes the Service the site had of its own before
// ServiceName (made by earlier versions of the operator), once the site's
// Ingress routes to the shared one. A Service of that name the site does
// not control is not the operator's to delete.
func (r *SiteReconciler) dropOwnService(ctx context.Context, site *pagesv1.GitLabPagesSite) (outcome, bool) {
	own := &corev1.Service{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: site.Namespace, Name: ownServiceName(site)}, own)
	switch {
	case apierrors.IsNotFound(err):
		return outcome{}, true
	case err != nil:
		return outcome{ready: ready(metav1.ConditionFalse, "ReadFailed", "reading Service %s: %v", own.Name, err), failed: true}, false
	case !metav1.IsControlledBy(own, site):
		return outcome{}, true
	}
	if err := r.Client.Delete(ctx, own, client.Preconditions{UID: &own.UID}); client.IgnoreNotFound(err) != nil {
		return r.writeFailed("Service", own, err), false
	}
	r.event(site, corev1.EventTypeNormal, "ServiceDeleted", "Delete", "Deleted the site's own Service %s: its Ingress routes through Service %s, shared by the namespace's sites", own.Name, ServiceName)
	return outcome{}, true
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
