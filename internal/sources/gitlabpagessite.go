package sources

import (
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/atrium-dev/atrium/internal/hostname"
)

// The kind's admission by the hostnames webhook, and the right to read it
// (the webhook's releaser and the DNS operator).
// +kubebuilder:webhook:path=/validate-hostnames,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=pages.atrium.dev,resources=gitlabpagessites,verbs=create;update,versions=v1alpha1,name=gitlabpagessites.hostnames.fleet.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:rbac:groups=pages.atrium.dev,resources=gitlabpagessites,verbs=get;list;watch

// gitLabPagesSite reads spec.hostname of a GitLabPagesSite. The site is
// claimed for itself, so that no other namespace can take the name while
// GitLab verifies it; its traffic comes through the Ingress the pages
// operator makes for it (published as an Ingress), and the site publishes
// only GitLab's verification record beside its hostname.
type gitLabPagesSite struct{}

func init() { Register(gitLabPagesSite{}) }

func (gitLabPagesSite) Kind() Kind {
	return Kind{GroupVersionKind: schema.GroupVersionKind{Group: "pages.atrium.dev", Version: "v1alpha1", Kind: "GitLabPagesSite"}, Resource: "gitlabpagessites"}
}

// A GitLab Pages domain is one name.
func (gitLabPagesSite) AllowsWildcards() bool { return false }

func (gitLabPagesSite) Hostnames(obj *unstructured.Unstructured) ([]string, error) {
	h, _, err := unstructured.NestedString(obj.Object, "spec", "hostname")
	if err != nil || h == "" {
		return nil, err
	}
	return []string{h}, nil
}

// A site serves its hostname only.
func (gitLabPagesSite) CatchAll(*unstructured.Unstructured) (string, error) { return "", nil }

// VerificationRecordPrefix starts the name of the TXT record GitLab reads
// to verify a Pages domain: "_gitlab-pages-verification-code.<hostname>".
const VerificationRecordPrefix = "_gitlab-pages-verification-code."

// verificationCode is what GitLab's codes look like; anything else in the
// status is not published.
var verificationCode = regexp.MustCompile(`^[0-9a-f]{16,64}$`)

// Records is GitLab's verification record, once the operator has written
// the domain's code into the site's status: it lies beside the hostname,
// under the hostname's claim, so only the namespace holding the name can
// have it published. Nothing else is published for the site itself.
func (gitLabPagesSite) Records(obj *unstructured.Unstructured) ([]Record, []Invalid, error) {
	raw, _, err := unstructured.NestedString(obj.Object, "spec", "hostname")
	if err != nil || raw == "" {
		return nil, nil, err
	}
	h, err := hostname.Normalize(raw, hostname.Options{})
	if err != nil {
		return nil, []Invalid{{Raw: raw, Err: err}}, nil
	}
	code, _, _ := unstructured.NestedString(obj.Object, "status", "verification", "code")
	if !verificationCode.MatchString(code) {
		return nil, nil, nil
	}
	return []Record{{
		Host: h, Name: VerificationRecordPrefix + h.Name, Type: "TXT",
		Targets: []string{"gitlab-pages-verification-code=" + code},
	}}, nil, nil
}
