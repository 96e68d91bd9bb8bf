package policysync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

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
// Admission depends on it, so it runs on every replica, leader or not.
type Sync struct {
	Engine *policy.Engine
	Client client.Client
	Cache  cache.Cache

	mu sync.Mutex
	// watching holds, per constraint kind, the handler that feeds its
	// constraints to the engine; its HasSynced says that every constraint
	// of the first list has been added.
	watching map[string]toolscache.ResourceEventHandlerRegistration
	// settled holds the templates that Reconcile has finished with
	// (loaded, or refused because they do not compile), with their
	// constraint kind ("" for none).
	settled map[string]string
	synced  atomic.Bool
}

// +kubebuilder:rbac:groups=templates.gatekeeper.sh,resources=constrainttemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=constraints.gatekeeper.sh,resources=*,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch;create;update

// SetupWithManager registers the template reconciler, on every replica:
// a standby that admitted without the policies would let through what the
// leader refuses.
func (s *Sync) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("constrainttemplates").For(template()).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		Complete(s)
}

func template() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(TemplateGVK)
	return u
}

// Synced is a readiness check: it passes once the engine holds every
// ConstraintTemplate in the cache (or has refused it as not compiling) and
// every constraint of their kinds, and from then on. Before the first pass
// that is what the replica found when it started, plus whatever arrived
// since; a replica is sent no request before its policies are in.
func (s *Sync) Synced(req *http.Request) error {
	if s.synced.Load() {
		return nil
	}
	ctx := context.Background()
	if req != nil {
		ctx = req.Context()
	}
	inf, err := s.Cache.GetInformer(ctx, template(), cache.BlockUntilSynced(false))
	if err != nil {
		return err
	}
	if !inf.HasSynced() {
		return errors.New("ConstraintTemplates not listed yet")
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(TemplateGVK.GroupVersion().WithKind(TemplateGVK.Kind + "List"))
	if err := s.Cache.List(ctx, list); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range list.Items {
		kind, ok := s.settled[t.GetName()]
		if !ok {
			return fmt.Errorf("ConstraintTemplate %s not loaded yet", t.GetName())
		}
		if reg := s.watching[kind]; kind != "" && (reg == nil || !reg.HasSynced()) {
			return fmt.Errorf("constraints of kind %s not loaded yet", kind)
		}
	}
	s.synced.Store(true)
	return nil
}

// settle records that Reconcile is done with a template.
func (s *Sync) settle(name, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settled == nil {
		s.settled = map[string]string{}
	}
	s.settled[name] = kind
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
		s.settle(req.Name, "")
		return ctrl.Result{}, nil
	}
	kind, _, _ := unstructured.NestedString(t.Object, "spec", "crd", "spec", "names", "kind")
	if kind == "" {
		s.settle(req.Name, "")
		return ctrl.Result{}, nil
	}
	if err := s.ensureConstraintCRD(ctx, t, kind); err != nil {
		return ctrl.Result{}, err
	}
	if err := s.watchConstraints(ctx, kind); err != nil {
		log.Info("waiting for the constraint kind to be served", "kind", kind, "reason", err.Error())
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	s.settle(req.Name, kind)
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
		s.watching = map[string]toolscache.ResourceEventHandlerRegistration{}
	}
	if s.watching[kind] != nil {
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
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
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
	s.watching[kind] = reg
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
