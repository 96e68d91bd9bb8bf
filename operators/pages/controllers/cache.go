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
//   - Ingresses: the sites' own only (label SiteLabel); Services: the
//     operator's only (the managed-by label: the namespaces' shared
//     Services, and the sites' own of earlier versions, to delete them).
//     Of each only what its drift is judged by (TrimRoute); a repair
//     reads the object itself, or patches only what the operator sets.
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
	made, err := labels.NewRequirement(managedByLabel, selection.Equals, []string{managedBy})
	if err != nil {
		return cache.Options{}, err
	}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&networkingv1.Ingress{}:    {Label: labels.NewSelector().Add(*own), Transform: TrimRoute},
		&corev1.Service{}:          {Label: labels.NewSelector().Add(*made), Transform: TrimRoute},
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
	s.Status.Conditions = trim.Conditions(s.Status.Conditions, pagesv1.ConditionReady, pagesv1.ConditionDomainVerified)
	for i, f := range s.Finalizers {
		s.Finalizers[i] = trim.Intern(f)
	}
	return s, nil
}

// LabelsAsWanted stands, in the operator's cache, for the labels of a
// site's Service or Ingress when they are what the site gives them
// (SiteLabel naming the site that controls the object, and the
// managed-by label): one map that every such object shares, rather than
// a map each (7 MiB at 10,000 sites).
const LabelsAsWanted = "pages.atrium.dev/labels-as-wanted"

// labelsAsWanted is the one map. Nothing writes a cached object in place:
// a cache read returns a deep copy.
var labelsAsWanted = map[string]string{LabelsAsWanted: "true"}

// TrimRoute is the cache's transform of a site's Ingress and of the
// operator's Services: what
// the operator judges drift by, and no more. Kept: the names, UID,
// version, deletion and owner references; the operator's own labels, as
// LabelsAsWanted when they are right; the Service's type, external name
// and ports; the Ingress's spec. Dropped: annotations, other labels,
// status and the rest of the Service's spec, which the operator neither
// sets nor reads; what every site's objects repeat (owner kinds, the
// Service's type, front host and ports, the Ingress's class, path and
// path type) is shared. The object in the cache is therefore not one to
// update: a repair reads the object itself first (SiteReconciler.repair).
func TrimRoute(obj any) (any, error) {
	obj, err := stripManagedFields(obj)
	if err != nil {
		return obj, err
	}
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	o.SetAnnotations(nil)
	o.SetLabels(ownLabels(o))
	trim.OwnerReferences(o.GetOwnerReferences())
	switch o := o.(type) {
	case *corev1.Service:
		ports := o.Spec.Ports
		for i := range ports {
			p := &ports[i]
			p.Name, p.Protocol = trim.Intern(p.Name), corev1.Protocol(trim.Intern(string(p.Protocol)))
		}
		o.Spec = corev1.ServiceSpec{
			Type:         corev1.ServiceType(trim.Intern(string(o.Spec.Type))),
			ExternalName: trim.Intern(o.Spec.ExternalName),
			Ports:        ports,
		}
		o.Status = corev1.ServiceStatus{}
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
		o.Status = networkingv1.IngressStatus{}
	}
	return obj, nil
}

// ownLabels is what the cache keeps of a Service's or Ingress's labels:
// LabelsAsWanted when the operator's two are what the controlling site
// gives them, else those two as they are (what a repair must put back).
func ownLabels(o client.Object) map[string]string {
	l := o.GetLabels()
	if _, ok := l[LabelsAsWanted]; ok && len(l) == 1 {
		return labelsAsWanted // already trimmed
	}
	if ref := metav1.GetControllerOf(o); ref != nil && l[SiteLabel] == ref.Name && l[managedByLabel] == managedBy {
		return labelsAsWanted
	}
	var out map[string]string
	for _, k := range []string{SiteLabel, managedByLabel} {
		if v, ok := l[k]; ok {
			if out == nil {
				out = make(map[string]string, 2)
			}
			out[trim.Intern(k)] = trim.Intern(v)
		}
	}
	return out
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
