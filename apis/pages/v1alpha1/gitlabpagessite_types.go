package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GitLabPagesSiteSchemaVersion is the schema version of the GitLabPagesSite CRD these
// types describe, the atrium.dev/schema-version annotation its marker
// writes on the CRD; raise both with a field that binaries rely on.
const GitLabPagesSiteSchemaVersion = 1

// Access says who may read a site: GitLab's pages_access_level.
// +kubebuilder:validation:Enum=Public;Private
type Access string

const (
	// AccessPublic lets anyone read the site (pages_access_level "public").
	AccessPublic Access = "Public"
	// AccessPrivate lets only the GitLab project's members read the site,
	// after signing in to GitLab (pages_access_level "private").
	AccessPrivate Access = "Private"
)

// CertificateSource says where a site's TLS certificate comes from.
// +kubebuilder:validation:Enum=Automatic;Secret
type CertificateSource string

const (
	// CertificateAutomatic has GitLab obtain and renew a certificate for the
	// hostname (Let's Encrypt), once the domain is verified.
	CertificateAutomatic CertificateSource = "Automatic"
	// CertificateSecret uploads the certificate and key of a
	// kubernetes.io/tls Secret in the site's namespace, and again whenever
	// the Secret changes.
	CertificateSecret CertificateSource = "Secret"
)

// SiteTLS says how the site's hostname gets its certificate.
// +kubebuilder:validation:XValidation:rule="self.source == 'Secret' ? has(self.secretName) : !has(self.secretName)",message="secretName is set exactly when source is Secret"
type SiteTLS struct {
	// Source is Automatic (GitLab's certificate, the default) or Secret.
	// +kubebuilder:default=Automatic
	// +optional
	Source CertificateSource `json:"source,omitempty"`

	// SecretName is a kubernetes.io/tls Secret in the site's namespace
	// holding tls.crt (the certificate, then its chain) and tls.key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SecretName string `json:"secretName,omitempty"`
}

// GitLabPagesSiteSpec is what the tenant asks for.
type GitLabPagesSiteSpec struct {
	// Project is the GitLab project whose Pages are published: its full
	// path ("physics/atlas-site") or its numeric id ("4211"). The Project's
	// owner, or one of its admins, must be a Maintainer or Owner of it in
	// GitLab.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^([0-9]+|[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+)$`
	Project string `json:"project"`

	// Hostname is the site's name ("atlas.web.example.org"): a hostname
	// this namespace may claim in the fleet, without a wildcard. GitLab
	// serves it as a custom Pages domain of the project.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="hostname is immutable; create another site for another hostname"
	Hostname string `json:"hostname"`

	// Access is Public (the default) or Private (GitLab project members
	// only).
	// +kubebuilder:default=Public
	// +optional
	Access Access `json:"access,omitempty"`

	// TLS says where the certificate comes from; GitLab's automatic
	// certificate by default.
	// +kubebuilder:default={source: Automatic}
	// +optional
	TLS SiteTLS `json:"tls,omitempty"`
}

// Verification is the state of the domain's ownership check in GitLab.
type Verification struct {
	// RecordName is the TXT record GitLab reads to verify the domain; the
	// operator publishes it through the fleet's DNS while the site exists.
	// +optional
	RecordName string `json:"recordName,omitempty"`
	// Code is GitLab's verification code for the domain (the record's
	// value is "gitlab-pages-verification-code=<code>").
	// +optional
	Code string `json:"code,omitempty"`
	// Verified says GitLab found the record.
	// +optional
	Verified bool `json:"verified,omitempty"`
	// EnabledUntil is how long GitLab serves the domain without verifying
	// it again; GitLab re-verifies verified domains before then.
	// +optional
	EnabledUntil *metav1.Time `json:"enabledUntil,omitempty"`
}

// Certificate is the certificate GitLab serves the hostname with.
type Certificate struct {
	// Source is where it comes from: Automatic or Secret.
	// +optional
	Source CertificateSource `json:"source,omitempty"`
	// Subject of the certificate as GitLab reports it.
	// +optional
	Subject string `json:"subject,omitempty"`
	// Expiration of the certificate as GitLab reports it.
	// +optional
	Expiration *metav1.Time `json:"expiration,omitempty"`
	// Expired says GitLab reports the certificate as expired.
	// +optional
	Expired bool `json:"expired,omitempty"`
	// SecretResourceVersion is the version of the Secret last uploaded.
	// +optional
	SecretResourceVersion string `json:"secretResourceVersion,omitempty"`
}

// GitLabPagesSiteStatus is what the operator observed.
type GitLabPagesSiteStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// URL is where the site is served.
	// +optional
	URL string `json:"url,omitempty"`

	// ProjectID is the GitLab project's numeric id.
	// +optional
	ProjectID int64 `json:"projectID,omitempty"`

	// DomainCreated says the operator created the Pages domain in GitLab,
	// so deleting the site deletes it there. It is set before the domain is
	// created (and cleared if creating it fails), so a restart in between
	// still knows. A domain the operator found already in place is never
	// deleted.
	// +optional
	DomainCreated bool `json:"domainCreated,omitempty"`

	// Verification is the domain's ownership check in GitLab.
	// +optional
	Verification *Verification `json:"verification,omitempty"`

	// Certificate is the certificate GitLab serves the hostname with.
	// +optional
	Certificate *Certificate `json:"certificate,omitempty"`

	// Conditions: Ready (the site is published: domain in GitLab, verified,
	// access level set, Ingress in place), Authorized (the Project's owner
	// or an admin is a Maintainer of the GitLab project), DomainVerified.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types of a GitLabPagesSite.
const (
	// ConditionReady says the site is published.
	ConditionReady = "Ready"
	// ConditionAuthorized says the Project may publish the GitLab project.
	ConditionAuthorized = "Authorized"
	// ConditionDomainVerified says GitLab verified the domain.
	ConditionDomainVerified = "DomainVerified"
)

// Finalizer removes, before a site goes, what the operator made for it in
// GitLab.
const Finalizer = "pages.atrium.dev/gitlab"

// GitLabPagesSite publishes a GitLab project's Pages on a hostname of the
// tenant's, with the domain verified and a certificate, in the namespace
// of a Project.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=pages;glps,categories=atrium
// +kubebuilder:metadata:annotations="atrium.dev/schema-version=1"
// +kubebuilder:printcolumn:name="Hostname",type=string,JSONPath=`.spec.hostname`
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.project`
// +kubebuilder:printcolumn:name="Access",type=string,JSONPath=`.spec.access`
// +kubebuilder:printcolumn:name="Verified",type=boolean,JSONPath=`.status.verification.verified`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`,priority=1
// +kubebuilder:printcolumn:name="Certificate Expires",type=date,JSONPath=`.status.certificate.expiration`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GitLabPagesSite struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GitLabPagesSiteSpec   `json:"spec,omitempty"`
	Status GitLabPagesSiteStatus `json:"status,omitempty"`
}

// GitLabPagesSiteList is a list of GitLabPagesSites.
//
// +kubebuilder:object:root=true
type GitLabPagesSiteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitLabPagesSite `json:"items"`
}
