package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/trim"
)

// AnnotationsDigest stands, in the operator's cache, for a site's
// annotations: a digest of them all, so that a change of annotations
// still starts a reconcile (the controller's predicate) while the cache
// holds 64 characters however much a tenant writes there.
const AnnotationsDigest = "pages.atrium.dev/annotations-digest"

// CacheOptions are the operator's cache: what it watches, and of each
// object only what it reads, so that its memory grows with the number of
// sites and not with what tenants or other writers put on them.
//   - Ingresses and Services: the sites' own only (label SiteLabel), kept
//     whole, since drift in them is put back by an update of the object;
//     the strings every site's repeat are shared (ShareRoute).
//   - GitLabPagesSites: no labels (never read), annotations as a digest
//     (AnnotationsDigest); the operator writes sites only by the status
//     subresource and by merge patches of its finalizer, which leave
//     both as they are on the server.
//   - Namespaces: the Project label alone (who the namespace belongs to).
//   - Projects: the owner and the namespace of the status alone.
//
// managedFields are dropped from all, as internal/manager does for every
// component (a transform of an object's own replaces that default).
func CacheOptions() (cache.Options, error) {
	own, err := labels.NewRequirement(SiteLabel, selection.Exists, nil)
	if err != nil {
		return cache.Options{}, err
	}
	mine := labels.NewSelector().Add(*own)
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&networkingv1.Ingress{}:    {Label: mine, Transform: ShareRoute},
		&corev1.Service{}:          {Label: mine, Transform: ShareRoute},
		&pagesv1.GitLabPagesSite{}: {Transform: TrimSite},
		&corev1.Namespace{}:        {Transform: TrimNamespace},
		&tenancyv1.Project{}:       {Transform: TrimProject},
	}}, nil
}

var stripManagedFields = cache.TransformStripManagedFields()

// TrimSite is the cache's transform of a GitLabPagesSite.
func TrimSite(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	s, ok := obj.(*pagesv1.GitLabPagesSite)
	if !ok {
		return obj, nil
	}
	s.Labels = nil
	s.Annotations = trim.Digest(s.Annotations, AnnotationsDigest)
	// The Ready and DomainVerified messages name the site's hostname; the
	// rest of the conditions repeat from site to site.
	trim.Conditions(s.Status.Conditions, pagesv1.ConditionReady, pagesv1.ConditionDomainVerified)
	for i, f := range s.Finalizers {
		s.Finalizers[i] = trim.Intern(f)
	}
	return s, nil
}

// ShareRoute is the cache's transform of a site's Service and Ingress:
// the object stays whole (the operator updates it from the cache), and
// what every site's repeats is kept once: label keys and values, the
// owner reference's kind, and the Service's type, front host and ports
// or the Ingress's class, path and path type.
func ShareRoute(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	o.SetLabels(trim.Labels(o.GetLabels()))
	refs := o.GetOwnerReferences()
	trim.OwnerReferences(refs)
	switch o := o.(type) {
	case *corev1.Service:
		o.Spec.Type = corev1.ServiceType(trim.Intern(string(o.Spec.Type)))
		o.Spec.ExternalName = trim.Intern(o.Spec.ExternalName)
		o.Spec.SessionAffinity = corev1.ServiceAffinity(trim.Intern(string(o.Spec.SessionAffinity)))
		for i := range o.Spec.Ports {
			p := &o.Spec.Ports[i]
			p.Name, p.Protocol = trim.Intern(p.Name), corev1.Protocol(trim.Intern(string(p.Protocol)))
		}
	case *networkingv1.Ingress:
		if c := o.Spec.IngressClassName; c != nil {
			o.Spec.IngressClassName = ptr.To(trim.Intern(*c))
		}
		for i := range o.Spec.Rules {
			if h := o.Spec.Rules[i].HTTP; h != nil {
				for j := range h.Paths {
					h.Paths[j].Path = trim.Intern(h.Paths[j].Path)
					if t := h.Paths[j].PathType; t != nil {
						h.Paths[j].PathType = ptr.To(networkingv1.PathType(trim.Intern(string(*t))))
					}
				}
			}
		}
	}
	return obj, nil
}

// TrimNamespace is the cache's transform of a Namespace: its name, UID,
// version and Project label.
func TrimNamespace(obj any) (any, error) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		return d, nil
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	out := &corev1.Namespace{TypeMeta: ns.TypeMeta, ObjectMeta: trimmedMeta(ns.ObjectMeta)}
	if p, ok := ns.Labels[tenancyv1.ProjectLabel]; ok {
		out.Labels = map[string]string{tenancyv1.ProjectLabel: p}
	}
	return out, nil
}

// TrimProject is the cache's transform of a Project: its name, UID,
// version, owner and namespace.
func TrimProject(obj any) (any, error) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		return d, nil
	}
	p, ok := obj.(*tenancyv1.Project)
	if !ok {
		return obj, nil
	}
	out := &tenancyv1.Project{TypeMeta: p.TypeMeta, ObjectMeta: trimmedMeta(p.ObjectMeta)}
	out.Spec.Owner, out.Status.Namespace = p.Spec.Owner, p.Status.Namespace
	return out, nil
}

// trimmedMeta is what the cache keeps of a read-only object's metadata:
// what names it, and its deletion.
func trimmedMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, DeletionTimestamp: m.DeletionTimestamp,
	}
}
