package policy

import (
	"errors"
	"fmt"

	apiconstraints "github.com/open-policy-agent/frameworks/constraint/pkg/apis/constraints"
	"github.com/open-policy-agent/frameworks/constraint/pkg/core/constraints"
	"github.com/open-policy-agent/frameworks/constraint/pkg/handler"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TargetName is the target ConstraintTemplates declare in spec.targets. It is
// Gatekeeper's own, so that gatekeeper-library templates load unchanged.
const TargetName = "admission.k8s.gatekeeper.sh"

// target is the framework's TargetHandler for admission requests: it decides
// what a review and the inventory look like to Rego, and which constraints
// apply to a review.
type target struct {
	namespaces *namespaceCache
}

var (
	_ handler.TargetHandler = (*target)(nil)
	_ handler.Cacher        = (*target)(nil)
)

func (t *target) GetName() string { return TargetName }

func (t *target) MatchSchema() apiextensions.JSONSchemaProps { return matchSchema() }

// GetCache lets the framework keep the namespace cache in step with the
// inventory on AddData and RemoveData.
func (t *target) GetCache() handler.Cache { return t.namespaces }

// ProcessData places an object fed through AddData where templates look for
// it (see clusterKey and namespacedKey). Anything but an unstructured object
// is not ours.
func (t *target) ProcessData(data interface{}) (bool, []string, interface{}, error) {
	u, ok := data.(*unstructured.Unstructured)
	if !ok || u == nil {
		return false, nil, nil, nil
	}
	key, err := inventoryKey(u)
	if err != nil {
		return true, nil, nil, err
	}
	return true, key, u.Object, nil
}

func inventoryKey(u *unstructured.Unstructured) ([]string, error) {
	gvk := u.GroupVersionKind()
	if gvk.Version == "" || gvk.Kind == "" || u.GetName() == "" {
		return nil, fmt.Errorf("inventory object %q needs apiVersion, kind and metadata.name", u.GetName())
	}
	if u.GetNamespace() == "" {
		return clusterKey(gvk, u.GetName()), nil
	}
	return namespacedKey(u.GetNamespace(), gvk, u.GetName()), nil
}

// HandleReview accepts only the reviews Engine.Review builds.
func (t *target) HandleReview(obj interface{}) (bool, interface{}, error) {
	r, ok := obj.(*review)
	return ok, r, nil
}

// ValidateConstraint rejects, when a constraint is added, what would
// otherwise only fail (or silently misbehave) at review time: a spec.match
// that does not compile and an enforcement action the webhook cannot act on.
func (t *target) ValidateConstraint(u *unstructured.Unstructured) error {
	if _, err := parseMatch(u); err != nil {
		return err
	}
	return validateEnforcementAction(u)
}

func (t *target) ToMatcher(u *unstructured.Unstructured) (constraints.Matcher, error) {
	c, err := parseMatch(u)
	if err != nil {
		return nil, err
	}
	return matcher{c}, nil
}

// matcher applies one constraint's spec.match to a review.
type matcher struct{ criteria *criteria }

// Match reports whether the object or, on UPDATE, the old object matches, as
// in Gatekeeper: relabelling an object cannot move it out of a constraint's
// reach in the same request. An error makes the framework report a violation
// with the constraint's enforcement action.
func (m matcher) Match(r interface{}) (bool, error) {
	rv, ok := r.(*review)
	if !ok {
		return false, fmt.Errorf("unexpected review type %T", r)
	}
	for _, s := range rv.subjects {
		ok, err := m.criteria.matches(s, rv.namespaceObject)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// validateEnforcementAction accepts deny (the default), dryrun, warn, and
// scoped with only those actions.
func validateEnforcementAction(u *unstructured.Unstructured) error {
	action, err := apiconstraints.GetEnforcementAction(u)
	if err != nil {
		return err
	}
	if apiconstraints.IsEnforcementActionScoped(action) {
		return validateScopedActions(u)
	}
	if _, ok := actionRank[EnforcementAction(action)]; !ok {
		return fmt.Errorf("unsupported spec.enforcementAction %q: want deny, dryrun, warn or scoped", action)
	}
	return nil
}

func validateScopedActions(u *unstructured.Unstructured) error {
	scoped, _, err := unstructured.NestedSlice(u.Object, "spec", "scopedEnforcementActions")
	if err != nil {
		return err
	}
	if len(scoped) == 0 {
		return errors.New("spec.enforcementAction scoped needs spec.scopedEnforcementActions")
	}
	for _, s := range scoped {
		m, _ := s.(map[string]interface{})
		action, _ := m["action"].(string)
		if _, ok := actionRank[EnforcementAction(action)]; !ok {
			return fmt.Errorf("unsupported action %q in spec.scopedEnforcementActions: want deny, dryrun or warn", action)
		}
	}
	return nil
}
