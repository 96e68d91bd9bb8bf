package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1 "github.com/atrium-dev/atrium/apis/pages/v1alpha1"
)

// SiteLabel is on the Ingress and Service made for a site, naming it.
const SiteLabel = "pages.atrium.dev/site"

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

// serviceName is the Service a site's Ingress routes to.
func serviceName(site *pagesv1.GitLabPagesSite) string { return site.Name + "-gitlab-pages" }

// managedByLabel and managedBy say, on a site's Service and Ingress, who
// makes them.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "atrium-pages"
)

func labelsOf(site *pagesv1.GitLabPagesSite) map[string]string {
	return map[string]string{SiteLabel: site.Name, managedByLabel: managedBy}
}

// desiredService is the ExternalName Service towards the pages front.
func desiredService(site *pagesv1.GitLabPagesSite, f Front) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(site), Namespace: site.Namespace, Labels: labelsOf(site)},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: f.Host,
			Ports:        []corev1.ServicePort{{Name: "pages", Port: f.Port, Protocol: corev1.ProtocolTCP}},
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
							Name: serviceName(site), Port: networkingv1.ServiceBackendPort{Number: f.Port},
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
// operator writes them (the benchmark's floor writes them directly).
func DesiredObjects(site *pagesv1.GitLabPagesSite, f Front) []client.Object {
	return []client.Object{desiredService(site, f), desiredIngress(site, f)}
}
