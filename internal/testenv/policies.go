package testenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitForAdmissionPolicies waits until the API server enforces every
// ValidatingAdmissionPolicy and binding created so far, so that a test
// acting right after installing them meets them (the API server compiles
// policies from its own watch of them, a moment after they are stored). It
// fails when kube-controller-manager's type check of a policy's expressions
// against the types it matches found a problem (a field that does not
// exist, say), which would otherwise only show as a policy that never
// refuses or always does.
//
// A probe policy and binding, created after the others, refuse one dry-run
// request; once the API server refuses it, it has loaded every policy and
// binding created before them (it reads each kind from one watch, in
// order).
func (e *Env) WaitForAdmissionPolicies(ctx context.Context) error {
	if e.kcm != nil {
		if err := e.typeChecked(ctx); err != nil {
			return err
		}
	}
	name := "atrium-probe-" + rand.String(8)
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
					},
				}},
			},
			MatchConditions: []admissionregistrationv1.MatchCondition{{Name: "probe", Expression: "object.metadata.name == '" + name + "'"}},
			Validations:     []admissionregistrationv1.Validation{{Expression: "false", Message: name, Reason: ptr.To(metav1.StatusReasonForbidden)}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	for _, o := range []client.Object{policy, binding} {
		if err := e.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("admission policy probe: %w", err)
		}
		defer func() { _ = e.Client.Delete(context.Background(), o) }()
	}
	return Eventually(ctx, time.Minute, func() error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: name}}
		err := e.Client.Create(ctx, cm, client.DryRunAll)
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), name) {
			return nil
		}
		return fmt.Errorf("the API server does not enforce the admission policies created so far yet (probe: %v)", err)
	})
}

// typeChecked waits until kube-controller-manager has type-checked every
// ValidatingAdmissionPolicy's current generation, and returns the
// problems it found.
func (e *Env) typeChecked(ctx context.Context) error {
	var problems []string
	err := Eventually(ctx, time.Minute, func() error {
		var list admissionregistrationv1.ValidatingAdmissionPolicyList
		if err := e.Client.List(ctx, &list); err != nil {
			return err
		}
		problems = nil
		for _, p := range list.Items {
			if p.Status.ObservedGeneration != p.Generation {
				return fmt.Errorf("ValidatingAdmissionPolicy %s is not type-checked yet", p.Name)
			}
			if p.Status.TypeChecking == nil {
				continue
			}
			for _, w := range p.Status.TypeChecking.ExpressionWarnings {
				problems = append(problems, fmt.Sprintf("ValidatingAdmissionPolicy %s: %s: %s", p.Name, w.FieldRef, w.Warning))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}
