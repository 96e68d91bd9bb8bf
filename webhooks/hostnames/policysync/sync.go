package policysync

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/webhooks/hostnames/admission"
	"github.com/atrium-dev/atrium/webhooks/hostnames/policy"
)

// Gatekeeper's API groups.
var (
	TemplateGVK = schema.GroupVersionKind{Group: "templates.gatekeeper.sh", Version: "v1", Kind: "ConstraintTemplate"}
	// ConstraintGroupVersion is where each template's constraint kind lives.
	ConstraintGroupVersion = schema.GroupVersion{Group: "constraints.gatekeeper.sh", Version: "v1beta1"}
)

// Sync loads ConstraintTemplates into the engine, defines each template's
// constraint kind (a CRD, as Gatekeeper does) and watches its constraints.
type Sync struct {
	Engine *policy.Engine
	Client client.Client
	Cache  cache.Cache

	mu       sync.Mutex
	watching map[string]bool
}

// +kubebuilder:rbac:groups=templates.gatekeeper.sh,resources=constrainttemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=constraints.gatekeeper.sh,resources=*,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch;create;update

// SetupWithManager registers the template reconciler.
func (s *Sync) SetupWithManager(mgr ctrl.Manager) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(TemplateGVK)
	return ctrl.NewControllerManagedBy(mgr).Named("constrainttemplates").For(u).Complete(s)
}

func (s *Sync) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	t := &unstructured.Unstructured{}
	t.SetGroupVersionKind(TemplateGVK)
	if err := s.Client.Get(ctx, req.NamespacedName, t); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, client.IgnoreNotFound(s.Engine.RemoveTemplate(ctx, req.Name))
		}
		return ctrl.Result{}, err
	}
	if err := s.Engine.AddTemplate(ctx, t); err != nil {
		// A template that does not compile is the admin's to fix; it is
		// reported, not retried.
		log.Error(err, "ConstraintTemplate not loaded", "template", req.Name)
		return ctrl.Result{}, nil
	}
	kind, _, _ := unstructured.NestedString(t.Object, "spec", "crd", "spec", "names", "kind")
	if kind == "" {
		return ctrl.Result{}, nil
	}
	if err := s.ensureConstraintCRD(ctx, t, kind); err != nil {
		return ctrl.Result{}, err
	}
	if err := s.watchConstraints(ctx, kind); err != nil {
		log.Info("waiting for the constraint kind to be served", "kind", kind, "reason", err.Error())
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	return ctrl.Result{}, nil
}

// ensureConstraintCRD defines the template's constraint kind, cluster-scoped
// in constraints.gatekeeper.sh, as Gatekeeper does; parameters are checked
// by the engine against the template's schema.
func (s *Sync) ensureConstraintCRD(ctx context.Context, t *unstructured.Unstructured, kind string) error {
	plural := strings.ToLower(kind)
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{
			Name:   plural + "." + ConstraintGroupVersion.Group,
			Labels: map[string]string{"atrium.dev/constraint-template": t.GetName()},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: ConstraintGroupVersion.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Kind: kind, ListKind: kind + "List", Plural: plural, Singular: plural,
				Categories: []string{"constraint", "constraints"},
			},
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: ConstraintGroupVersion.Version, Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec":   {Type: "object", XPreserveUnknownFields: &preserve},
						"status": {Type: "object", XPreserveUnknownFields: &preserve},
					},
				}},
			}},
		},
	}
	err := s.Client.Create(ctx, crd)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// watchConstraints feeds the constraints of one kind to the engine, once
// per kind for the life of the process.
func (s *Sync) watchConstraints(ctx context.Context, kind string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watching == nil {
		s.watching = map[string]bool{}
	}
	if s.watching[kind] {
		return nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ConstraintGroupVersion.WithKind(kind))
	inf, err := s.Cache.GetInformer(ctx, u, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("constraint kind %s: %w", kind, err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("kind", kind)
	add := func(obj any) {
		if c, ok := obj.(*unstructured.Unstructured); ok {
			if err := s.Engine.AddConstraint(context.Background(), c); err != nil {
				log.Error(err, "constraint not loaded", "constraint", c.GetName())
			}
		}
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if c, ok := obj.(*unstructured.Unstructured); ok {
				_ = s.Engine.RemoveConstraint(context.Background(), kind, c.GetName())
			}
		},
	})
	if err != nil {
		return err
	}
	s.watching[kind] = true
	return nil
}

// Check is the engine as one of the webhook's policies: "deny" violations
// refuse the request, "warn" ones are shown, "dryrun" ones only counted.
type Check struct {
	Engine *policy.Engine
}

func (Check) Name() string { return "rego" }

func (c Check) Check(ctx context.Context, r *admission.Review) (admission.Verdict, error) {
	violations, err := c.Engine.Review(ctx, policy.Request{
		Operation:       admissionOperation(r.Operation),
		Object:          r.Object,
		OldObject:       r.OldObject,
		GVK:             r.Kind,
		Namespace:       r.Namespace,
		Name:            r.Name,
		UserInfo:        r.UserInfo,
		DryRun:          r.DryRun,
		NamespaceObject: r.NamespaceObject,
	})
	if err != nil {
		return admission.Verdict{}, err
	}
	var v admission.Verdict
	for _, vi := range violations {
		msg := fmt.Sprintf("[%s] %s", vi.ConstraintName, vi.Message)
		switch vi.EnforcementAction {
		case policy.Deny:
			v.Denials = append(v.Denials, msg)
		case policy.Warn:
			v.Warnings = append(v.Warnings, msg)
		}
	}
	return v, nil
}

func admissionOperation(op string) admissionv1.Operation { return admissionv1.Operation(op) }
