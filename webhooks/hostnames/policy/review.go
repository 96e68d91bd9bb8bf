package policy

import (
	"cmp"
	"errors"

	apiconstraints "github.com/open-policy-agent/frameworks/constraint/pkg/apis/constraints"
	"github.com/open-policy-agent/frameworks/constraint/pkg/types"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Request is one admission request to review.
type Request struct {
	// Operation is CREATE, UPDATE, DELETE or CONNECT.
	Operation admissionv1.Operation
	// Object is the object being admitted; nil on DELETE.
	Object *unstructured.Unstructured
	// OldObject is the object before an UPDATE, or the one being deleted.
	OldObject *unstructured.Unstructured
	// GVK is the object's kind (the request's kind); if empty, Object's
	// apiVersion and kind are used.
	GVK schema.GroupVersionKind
	// Namespace and Name identify the object; Namespace is empty for
	// cluster-scoped objects, Name may be empty on CREATE with generateName.
	Namespace, Name string
	// UserInfo is the requester.
	UserInfo authenticationv1.UserInfo
	// DryRun is true when the API server will not persist the change.
	DryRun bool
	// NamespaceObject is the object's Namespace, optional. Constraints with a
	// namespaceSelector need it, and templates see it as
	// input.review.namespaceObject. If nil, the Namespace last fed through
	// AddData is used.
	NamespaceObject *corev1.Namespace
}

// EnforcementAction is what the webhook does with a violation.
type EnforcementAction string

const (
	// Deny rejects the request.
	Deny EnforcementAction = "deny"
	// Warn admits the request and returns the message as a warning.
	Warn EnforcementAction = "warn"
	// DryRun admits the request; the violation is only to be recorded.
	DryRun EnforcementAction = "dryrun"
)

// actionRank orders actions by severity, to pick one when a scoped
// constraint asks for several at the webhook.
var actionRank = map[EnforcementAction]int{DryRun: 1, Warn: 2, Deny: 3}

// Violation is one constraint that the request violates.
type Violation struct {
	ConstraintKind    string
	ConstraintName    string
	Message           string
	EnforcementAction EnforcementAction
}

// review is the framework's view of a Request. Its JSON form is
// input.review: the field names are those of admission.k8s.io/v1
// AdmissionRequest, which gatekeeper-library templates read (uid, resource,
// subResource, requestKind and options are left out: Request does not carry
// them). The framework adds namespaceObject. The unexported fields are for
// spec.match.
type review struct {
	Kind      metav1.GroupVersionKind   `json:"kind"`
	Name      string                    `json:"name"`
	Namespace string                    `json:"namespace"`
	Operation admissionv1.Operation     `json:"operation"`
	UserInfo  authenticationv1.UserInfo `json:"userInfo"`
	Object    map[string]interface{}    `json:"object"`
	OldObject map[string]interface{}    `json:"oldObject"`
	DryRun    bool                      `json:"dryRun"`

	subjects        []subject
	namespaceObject *corev1.Namespace
	admission       *admissionv1.AdmissionRequest
}

// GetAdmissionRequest lets the framework skip templates whose
// spec.targets[].operations exclude this request's operation. The framework
// asks once per template and reads only the operation, so the request is
// built once and carries only the request's metadata.
func (r *review) GetAdmissionRequest() *admissionv1.AdmissionRequest {
	return r.admission
}

var (
	errNoObject    = errors.New("policy: request has no object")
	errNoOldObject = errors.New("policy: DELETE request has no old object")
)

// newReview builds the review of req.
func newReview(req Request) (*review, error) {
	object, err := reviewedObject(req)
	if err != nil {
		return nil, err
	}
	gvk := cmp.Or(req.GVK, object.GroupVersionKind())
	namespace := cmp.Or(req.Namespace, object.GetNamespace())
	r := &review{
		Kind:      metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		Name:      req.Name,
		Namespace: namespace,
		Operation: req.Operation,
		UserInfo:  req.UserInfo,
		Object:    object.Object,
		DryRun:    req.DryRun,
		subjects:  []subject{newSubject(gvk, namespace, req.Name, object)},
	}
	if req.OldObject != nil {
		r.OldObject = req.OldObject.Object
		if req.OldObject != object {
			r.subjects = append(r.subjects, newSubject(gvk, namespace, req.Name, req.OldObject))
		}
	}
	r.admission = &admissionv1.AdmissionRequest{
		Kind:      r.Kind,
		Name:      r.Name,
		Namespace: r.Namespace,
		Operation: r.Operation,
		UserInfo:  r.UserInfo,
		DryRun:    &r.DryRun,
	}
	return r, nil
}

// reviewedObject is what templates see as input.review.object. As in
// Gatekeeper, on DELETE that is the deleted object, so that a policy about an
// object's content also applies to its deletion.
func reviewedObject(req Request) (*unstructured.Unstructured, error) {
	if req.Operation == admissionv1.Delete {
		if req.OldObject == nil {
			return nil, errNoOldObject
		}
		return req.OldObject, nil
	}
	if req.Object == nil {
		return nil, errNoObject
	}
	return req.Object, nil
}

func newSubject(gvk schema.GroupVersionKind, namespace, name string, u *unstructured.Unstructured) subject {
	if n := u.GetName(); n != "" {
		name = n
	}
	return subject{
		gvk:          gvk,
		namespace:    namespace,
		name:         name,
		generateName: u.GetGenerateName(),
		labels:       labels.Set(u.GetLabels()),
	}
}

// toViolation turns one framework result into a Violation.
func toViolation(r *types.Result) Violation {
	return Violation{
		ConstraintKind:    r.Constraint.GetKind(),
		ConstraintName:    r.Constraint.GetName(),
		Message:           r.Msg,
		EnforcementAction: effectiveAction(r),
	}
}

// effectiveAction resolves a scoped constraint to the most severe of the
// actions it asks for at the webhook; the framework has already dropped
// scoped constraints that ask for none.
func effectiveAction(r *types.Result) EnforcementAction {
	if !apiconstraints.IsEnforcementActionScoped(r.EnforcementAction) {
		return EnforcementAction(r.EnforcementAction)
	}
	var strongest EnforcementAction
	for _, a := range r.ScopedEnforcementActions {
		if actionRank[EnforcementAction(a)] > actionRank[strongest] {
			strongest = EnforcementAction(a)
		}
	}
	return strongest
}
