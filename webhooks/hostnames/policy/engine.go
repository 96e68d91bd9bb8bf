package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	apiconstraints "github.com/open-policy-agent/frameworks/constraint/pkg/apis/constraints"
	templatesv1 "github.com/open-policy-agent/frameworks/constraint/pkg/apis/templates/v1"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client/drivers/rego"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client/reviews"
	"github.com/open-policy-agent/frameworks/constraint/pkg/core/templates"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Engine holds ConstraintTemplates, Constraints and inventory, and reviews
// admission requests against them.
//
// All methods may be called from many goroutines at once. The framework's
// client is safe for concurrent reviews, and locks itself around each
// change, but documents that it does not support concurrent changes: AddData
// and RemoveData, for one, update the namespace cache and the Rego store in
// two unlocked steps, so racing on one object could leave the two disagreeing.
// Engine therefore serialises its changing methods. Review is not serialised;
// it only waits, briefly, while the framework applies a change.
type Engine struct {
	client     *client.Client
	namespaces *namespaceCache
	writeMu    sync.Mutex // held by the methods that change the engine
}

// webhook is the framework's enforcement point for admission. Reviewing at
// it makes the framework honour templates' spec.targets[].operations and
// constraints' scopedEnforcementActions as Gatekeeper's webhook does.
const webhook = apiconstraints.WebhookEnforcementPoint

// New returns an empty Engine. ctx is not retained.
//
// Templates may not use http.send: a template must not make the webhook call
// out on every admission request. Everything else OPA offers is available.
func New(_ context.Context) (*Engine, error) {
	driver, err := rego.New(rego.DisableBuiltins("http.send"))
	if err != nil {
		return nil, fmt.Errorf("policy: creating Rego driver: %w", err)
	}
	namespaces := newNamespaceCache()
	c, err := client.NewClient(
		client.Targets(&target{namespaces: namespaces}),
		client.Driver(driver),
		client.EnforcementPoints(webhook),
	)
	if err != nil {
		return nil, fmt.Errorf("policy: creating constraint client: %w", err)
	}
	return &Engine{client: c, namespaces: namespaces}, nil
}

// AddTemplate adds or replaces a templates.gatekeeper.sh/v1
// ConstraintTemplate; its Rego is compiled now, so errors name the template.
func (e *Engine) AddTemplate(ctx context.Context, u *unstructured.Unstructured) error {
	if err := e.addTemplate(ctx, u); err != nil {
		return fmt.Errorf("policy: ConstraintTemplate %q: %w", u.GetName(), err)
	}
	return nil
}

func (e *Engine) addTemplate(ctx context.Context, u *unstructured.Unstructured) error {
	templ, err := toTemplate(u)
	if err != nil {
		return err
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	_, err = e.client.AddTemplate(ctx, templ)
	return err
}

var templateGVK = templatesv1.SchemeGroupVersion.WithKind("ConstraintTemplate")

// toTemplate converts u to the framework's version-independent template,
// applying the same defaults as the API server would.
func toTemplate(u *unstructured.Unstructured) (*templates.ConstraintTemplate, error) {
	if gvk := u.GroupVersionKind(); gvk != templateGVK {
		return nil, fmt.Errorf("want %s, got %s", templateGVK, gvk)
	}
	// Through JSON rather than the unstructured converter: the OpenAPI schema
	// types in the template decode themselves from JSON.
	raw, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	v1 := &templatesv1.ConstraintTemplate{}
	if err := json.Unmarshal(raw, v1); err != nil {
		return nil, err
	}
	return v1.ToVersionless()
}

// RemoveTemplate removes a ConstraintTemplate and all its constraints. It is
// not an error if the template is unknown.
func (e *Engine) RemoveTemplate(ctx context.Context, name string) error {
	templ := &templates.ConstraintTemplate{}
	templ.SetName(name)
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.client.RemoveTemplate(ctx, templ); err != nil {
		return fmt.Errorf("policy: removing ConstraintTemplate %q: %w", name, err)
	}
	return nil
}

// AddConstraint adds or replaces a constraints.gatekeeper.sh/v1beta1
// constraint. Its template must have been added; its spec is validated
// against the template's parameters schema and the spec.match schema.
func (e *Engine) AddConstraint(ctx context.Context, u *unstructured.Unstructured) error {
	// The framework writes parameter defaults into the object it is given and
	// keeps references into it, so it gets a copy: u may be shared, e.g. by an
	// informer cache.
	c := u.DeepCopy()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.client.AddConstraint(ctx, c); err != nil {
		return fmt.Errorf("policy: constraint %s %q: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// RemoveConstraint removes a constraint. It is not an error if it is unknown.
func (e *Engine) RemoveConstraint(ctx context.Context, kind, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: apiconstraints.Group, Version: "v1beta1", Kind: kind})
	u.SetName(name)
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.client.RemoveConstraint(ctx, u); err != nil {
		return fmt.Errorf("policy: removing constraint %s %q: %w", kind, name, err)
	}
	return nil
}

// AddData adds or replaces an object in the inventory that referential
// templates read: data.inventory.cluster[groupversion][kind][name] for
// cluster-scoped objects, data.inventory.namespace[ns][groupversion][kind][name]
// for namespaced ones, as Gatekeeper's sync does. Namespaces fed here also
// serve namespaceSelector for requests without a NamespaceObject. The object
// is copied.
func (e *Engine) AddData(ctx context.Context, obj *unstructured.Unstructured) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.client.AddData(ctx, obj); err != nil {
		return fmt.Errorf("policy: adding %s %s/%s to inventory: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// RemoveData removes an object from the inventory; only its apiVersion,
// kind, namespace and name are used. It is not an error if it is absent.
func (e *Engine) RemoveData(ctx context.Context, obj *unstructured.Unstructured) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.client.RemoveData(ctx, obj); err != nil {
		return fmt.Errorf("policy: removing %s %s/%s from inventory: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// Review returns the violations of the constraints that match req, ordered
// by constraint kind, name and message; none means the request is allowed.
// A constraint that cannot tell whether it matches (a namespaceSelector
// without the Namespace) is reported as violated, with the reason as message,
// as in Gatekeeper. req's objects are read, never modified.
func (e *Engine) Review(ctx context.Context, req Request) ([]Violation, error) {
	r, err := newReview(req)
	if err != nil {
		return nil, err
	}
	opts, err := e.resolveNamespace(r, req.NamespaceObject)
	if err != nil {
		return nil, err
	}
	resp, err := e.client.Review(ctx, r, opts...)
	if err != nil {
		return nil, fmt.Errorf("policy: reviewing %s %s/%s: %w", r.Kind.Kind, r.Namespace, r.Name, err)
	}
	var violations []Violation
	for _, result := range resp.Results() {
		violations = append(violations, toViolation(result))
	}
	slices.SortFunc(violations, func(a, b Violation) int {
		return cmp.Or(
			cmp.Compare(a.ConstraintKind, b.ConstraintKind),
			cmp.Compare(a.ConstraintName, b.ConstraintName),
			cmp.Compare(a.Message, b.Message))
	})
	return violations, nil
}

// resolveNamespace sets the review's Namespace object, from the request or
// the cache, and returns the review options that show it to templates as
// input.review.namespaceObject.
func (e *Engine) resolveNamespace(r *review, fromRequest *corev1.Namespace) ([]reviews.ReviewOpt, error) {
	opts := []reviews.ReviewOpt{reviews.EnforcementPoint(webhook)}
	ns := fromRequest
	if ns == nil && r.Namespace != "" {
		ns = e.namespaces.get(r.Namespace)
	}
	if ns == nil {
		return opts, nil
	}
	r.namespaceObject = ns
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ns)
	if err != nil {
		return nil, fmt.Errorf("policy: converting Namespace %q: %w", ns.Name, err)
	}
	return append(opts, reviews.Namespace(m)), nil
}
