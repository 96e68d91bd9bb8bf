package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// SiteLabel is on the Ingress made for a site, naming it (and on the
// Service of its own each site had before ServiceName).
const SiteLabel = "pages.atrium.dev/site"

// ServiceName is the Service every site's Ingress in a namespace routes
// to: one a namespace, of type ExternalName towards the pages front,
// owned (not controlled) by one site of the namespace or a few, which
// hand it over to another before they go, so the garbage collector
// removes it with the namespace's last site. One for
// all rather than one a site: at 10,000 sites that is 10,000 objects
// fewer for the API server to write and store and for the operator to
// cache (docs/benchmarks.md, GitLab Pages, Memory). No site's Service of
// its own (a site's name and "-gitlab-pages") can take this name.
const ServiceName = "atrium-pages-front"

// Front is where the fleet's GitLab Pages traffic goes: the pages
// servers' address, which the site's Ingress routes its hostname to
// through a Service of type ExternalName in the site's namespace (an
// Ingress reaches only Services of its own namespace).
type Front struct {
	// Host is the pages servers' DNS name.
	Host string
	// Port is their port (443 when the servers terminate TLS themselves).
	Port int32
	// IngressClass is the class of the Ingress, empty for the cluster's
	// default.
	IngressClass string
}

// ownServiceName is the Service a site had of its own before
// ServiceName; the operator deletes it once the site's Ingress routes to
// the shared one.
func ownServiceName(site *pagesv1.GitLabPagesSite) string { return site.Name + "-gitlab-pages" }

// managedByLabel and managedBy say, on a site's Service and Ingress, who
// makes them.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "atrium-pages"
)

func labelsOf(site *pagesv1.GitLabPagesSite) map[string]string {
	return map[string]string{SiteLabel: site.Name, managedByLabel: managedBy}
}

// desiredService is the namespace's ExternalName Service towards the
// pages front, without owners (each site adds itself). The port's target
// is given as the API server would default it, so that the Service as
// stored is the Service as wanted and a settled one is never rewritten.
func desiredService(namespace string, f Front) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: namespace, Labels: map[string]string{managedByLabel: managedBy}},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: f.Host,
			Ports:        []corev1.ServicePort{{Name: "pages", Port: f.Port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(f.Port)}},
		},
	}
}

// desiredIngress routes the site's hostname to the Service: the hostnames
// webhook claims it like any Ingress of the namespace (the site's own
// claim already holds the name) and the DNS operator publishes it.
func desiredIngress(site *pagesv1.GitLabPagesSite, f Front) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: site.Name, Namespace: site.Namespace, Labels: labelsOf(site)},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: site.Spec.Hostname,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: ServiceName, Port: networkingv1.ServiceBackendPort{Number: f.Port},
						}},
					}},
				}},
			}},
		},
	}
	if f.IngressClass != "" {
		ing.Spec.IngressClassName = &f.IngressClass
	}
	return ing
}

// DesiredObjects are the objects a site makes in its namespace, as the
// operator writes them (the benchmark's floor writes them directly): the
// namespace's Service, which it shares with the other sites there, and
// its Ingress.
func DesiredObjects(site *pagesv1.GitLabPagesSite, f Front) []client.Object {
	return []client.Object{desiredService(site.Namespace, f), desiredIngress(site, f)}
}
