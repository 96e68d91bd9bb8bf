package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Indexes of Projects: by spec.owner to count what a user owns, by
// spec.tier to find a tier's Projects. Named after this package so that the
// webhook can share a manager with the operator (as in the tests), which
// indexes spec.tier too.
const (
	ownerIndex = "admission.spec.owner"
	tierIndex  = "admission.spec.tier"
)

// Paths the webhooks are served at.
const (
	MutateProjectPath     = "/mutate-tenancy-atrium-dev-v1alpha1-project"
	ValidateProjectPath   = "/validate-tenancy-atrium-dev-v1alpha1-project"
	ValidateNamespacePath = "/validate-v1-namespace"
	ValidateTierPath      = "/validate-tenancy-atrium-dev-v1alpha1-projecttier"
)

// Projects is the Project admission logic.
type Projects struct {
	// Client reads Projects, tiers and namespaces, from the cache.
	Client client.Client
	// Authorizer asks RBAC what the requester may do.
	Authorizer Authorizer
	// DefaultTier is given to Projects created without one; empty means a
	// Project must name its tier.
	DefaultTier string
	// Reserved are name patterns (path.Match syntax) no Project may take.
	Reserved []string

	decoder admission.Decoder
}

// +kubebuilder:webhook:path=/mutate-tenancy-atrium-dev-v1alpha1-project,mutating=true,failurePolicy=fail,sideEffects=None,groups=tenancy.atrium.dev,resources=projects,verbs=create,versions=v1alpha1,name=mproject.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-tenancy-atrium-dev-v1alpha1-project,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.atrium.dev,resources=projects,verbs=create;update;delete,versions=v1alpha1,name=vproject.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-tenancy-atrium-dev-v1alpha1-projecttier,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.atrium.dev,resources=projecttiers,verbs=delete,versions=v1alpha1,name=vprojecttier.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-v1-namespace,mutating=false,failurePolicy=fail,sideEffects=None,groups="",resources=namespaces,verbs=delete,versions=v1,name=vnamespace.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10

// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects;projecttiers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// SetupWithManager registers the three webhooks and the index they use.
func (h *Projects) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenancyv1.Project{}, ownerIndex, func(o client.Object) []string {
		return []string{o.(*tenancyv1.Project).Spec.Owner}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenancyv1.Project{}, tierIndex, func(o client.Object) []string {
		return []string{o.(*tenancyv1.Project).Spec.Tier}
	}); err != nil {
		return err
	}
	h.decoder = admission.NewDecoder(mgr.GetScheme())
	srv := mgr.GetWebhookServer()
	srv.Register(MutateProjectPath, &webhook.Admission{Handler: admission.HandlerFunc(h.mutate)})
	srv.Register(ValidateProjectPath, &webhook.Admission{Handler: admission.HandlerFunc(h.validate)})
	srv.Register(ValidateNamespacePath, &webhook.Admission{Handler: admission.HandlerFunc(h.validateNamespaceDelete)})
	srv.Register(ValidateTierPath, &webhook.Admission{Handler: admission.HandlerFunc(h.validateTierDelete)})
	return nil
}

// mutate fills in what a requester need not say: the owner (the requester),
// the default tier, and which existing namespace, if any, the Project is
// about to adopt.
func (h *Projects) mutate(ctx context.Context, req admission.Request) admission.Response {
	p := &tenancyv1.Project{}
	if err := h.decoder.Decode(req, p); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if p.Spec.Owner == "" {
		p.Spec.Owner = req.UserInfo.Username
	}
	if p.Spec.Tier == "" {
		p.Spec.Tier = h.DefaultTier
	}
	// The operator's finalizer from the first write: a Project deleted
	// before the operator saw it still has its namespace cleaned up, and
	// the operator saves a write per Project.
	controllerutil.AddFinalizer(p, tenancyv1.ProjectFinalizer)
	// Record the namespace instance that exists now; the validating webhook
	// decides whether the requester may adopt it and the operator adopts only
	// this one. A client-supplied value is never kept. The cache is enough:
	// if it has not yet seen a namespace created a moment ago, no adoption is
	// recorded and the operator, which checks with the API server, reports a
	// conflict instead of taking the namespace over.
	delete(p.Annotations, tenancyv1.AdoptNamespaceAnnotation)
	ns := &corev1.Namespace{}
	switch err := h.Client.Get(ctx, client.ObjectKey{Name: p.Name}, ns); {
	case err == nil:
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[tenancyv1.AdoptNamespaceAnnotation] = string(ns.UID)
	case !apierrors.IsNotFound(err):
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("looking up namespace %s: %w", p.Name, err))
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// validate checks a Project create, update or delete.
func (h *Projects) validate(ctx context.Context, req admission.Request) admission.Response {
	switch req.Operation {
	case admissionv1.Delete:
		old := &tenancyv1.Project{}
		if err := h.decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if old.Spec.DeletionProtection {
			return admission.Denied(fmt.Sprintf("Project %s has deletion protection: set spec.deletionProtection to false first, then delete it (its namespace and everything in it go too)", old.Name))
		}
		return admission.Allowed("")
	case admissionv1.Create:
		p := &tenancyv1.Project{}
		if err := h.decoder.Decode(req, p); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		return h.validateCreate(ctx, req, p)
	case admissionv1.Update:
		p, old := &tenancyv1.Project{}, &tenancyv1.Project{}
		if err := h.decoder.Decode(req, p); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if err := h.decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		return h.validateUpdate(ctx, req, old, p)
	}
	return admission.Allowed("")
}

func (h *Projects) validateCreate(ctx context.Context, req admission.Request, p *tenancyv1.Project) admission.Response {
	if err := validateName(p.Name, h.Reserved); err != nil {
		return admission.Denied(err.Error())
	}
	if problems := validateSubjects(&p.Spec); len(problems) > 0 {
		return admission.Denied(strings.Join(problems, "; "))
	}
	rq := h.requester(ctx, req)
	if resp, ok := h.checkOwner(rq, true, "", p.Spec.Owner); !ok {
		return resp
	}
	if resp, ok := h.checkTier(ctx, rq, p); !ok {
		return resp
	}
	return h.checkAdoption(ctx, req, p)
}

func (h *Projects) validateUpdate(ctx context.Context, req admission.Request, old, p *tenancyv1.Project) admission.Response {
	// The operator's own updates (finalizers) and updates of a Project that is
	// going away need no policy.
	if !p.DeletionTimestamp.IsZero() {
		return admission.Allowed("")
	}
	if problems := validateSubjects(&p.Spec); len(problems) > 0 {
		return admission.Denied(strings.Join(problems, "; "))
	}
	if immutableAnnotationChanged(old.Annotations, p.Annotations) {
		return admission.Denied(fmt.Sprintf("annotation %s is set by admission and cannot be changed", tenancyv1.AdoptNamespaceAnnotation))
	}
	rq := h.requester(ctx, req)
	if controllerutil.ContainsFinalizer(old, tenancyv1.ProjectFinalizer) && !controllerutil.ContainsFinalizer(p, tenancyv1.ProjectFinalizer) {
		// Without the finalizer, deleting the Project would leave its
		// namespace behind; only a platform admin may untangle that by hand.
		if admin, err := rq.platformAdmin(); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		} else if !admin {
			return admission.Denied(fmt.Sprintf("finalizer %s is managed by Atrium and cannot be removed; delete the Project instead", tenancyv1.ProjectFinalizer))
		}
	}
	if resp, ok := h.checkOwner(rq, false, old.Spec.Owner, p.Spec.Owner); !ok {
		return resp
	}
	if old.Spec.Tier != p.Spec.Tier || old.Spec.Owner != p.Spec.Owner {
		if resp, ok := h.checkTier(ctx, rq, p); !ok {
			return resp
		}
	}
	return admission.Allowed("")
}

// checkOwner applies ownerDecision, asking RBAC whether the requester is a
// platform admin only when that would change the answer.
func (h *Projects) checkOwner(rq *requester, creating bool, oldOwner, newOwner string) (admission.Response, bool) {
	user := rq.req.UserInfo.Username
	err := ownerDecision(creating, oldOwner, newOwner, user, false)
	if err != nil && newOwner != "" {
		admin, aerr := rq.platformAdmin()
		if aerr != nil {
			return admission.Errored(http.StatusInternalServerError, aerr), false
		}
		err = ownerDecision(creating, oldOwner, newOwner, user, admin)
	}
	if err != nil {
		return admission.Denied(err.Error()), false
	}
	return admission.Response{}, true
}

// checkTier checks that the Project's tier exists, that the requester may use
// it, and that the owner stays within the tier's per-user limit.
func (h *Projects) checkTier(ctx context.Context, rq *requester, p *tenancyv1.Project) (admission.Response, bool) {
	if p.Spec.Tier == "" {
		return admission.Denied("spec.tier is required: name a ProjectTier (kubectl get projecttiers lists them)"), false
	}
	tier := &tenancyv1.ProjectTier{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: p.Spec.Tier}, tier); err != nil {
		if apierrors.IsNotFound(err) {
			return admission.Denied(fmt.Sprintf("ProjectTier %q does not exist; name one of those that `kubectl get projecttiers` lists", p.Spec.Tier)), false
		}
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	user := rq.req.UserInfo.Username
	if !tier.Spec.SelfService {
		// Platform admins hold "use" on every tier through their role.
		ok, err := h.Authorizer.Allowed(ctx, rq.req.UserInfo, useTier(tier.Name))
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err), false
		}
		if !ok {
			return admission.Denied(fmt.Sprintf("tier %q is not open to self-service and you (%s) may not use it; choose a self-service tier or ask an admin for the \"use\" permission on it", tier.Name, user)), false
		}
	}
	var owned tenancyv1.ProjectList
	if err := h.Client.List(ctx, &owned, client.MatchingFields{ownerIndex: p.Spec.Owner}); err != nil {
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	n := 0
	for _, o := range owned.Items {
		if o.Name != p.Name && o.Spec.Tier == tier.Name && o.DeletionTimestamp.IsZero() {
			n++
		}
	}
	if err := limitDecision(tier, p.Spec.Owner, n); err != nil {
		admin, aerr := rq.platformAdmin()
		if aerr != nil {
			return admission.Errored(http.StatusInternalServerError, aerr), false
		}
		if !admin {
			return admission.Denied(err.Error()), false
		}
	}
	return admission.Response{}, true
}

// checkAdoption allows a Project named like an existing namespace only when
// the requester administers that namespace and no other Project holds it.
func (h *Projects) checkAdoption(ctx context.Context, req admission.Request, p *tenancyv1.Project) admission.Response {
	ns := &corev1.Namespace{}
	err := h.Client.Get(ctx, client.ObjectKey{Name: p.Name}, ns)
	switch {
	case apierrors.IsNotFound(err):
		return admission.Allowed("")
	case err != nil:
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if uid := p.Annotations[tenancyv1.AdoptNamespaceAnnotation]; uid != string(ns.UID) {
		return admission.Denied(fmt.Sprintf("namespace %s changed while the Project was being admitted; try again", ns.Name))
	}
	if other := ns.Labels[tenancyv1.ProjectLabel]; other != "" && other != p.Name {
		return admission.Denied(fmt.Sprintf("namespace %s already belongs to Project %s", ns.Name, other))
	}
	if !ns.DeletionTimestamp.IsZero() {
		return admission.Denied(fmt.Sprintf("namespace %s is being deleted; wait until it is gone, then create the Project again", ns.Name))
	}
	ok, err := h.Authorizer.Allowed(ctx, req.UserInfo, adminOfNamespace(ns.Name))
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if !ok {
		return admission.Denied(fmt.Sprintf("namespace %s already exists and you (%s) are not an admin there, so a Project cannot adopt it; choose another name, or ask an admin of the namespace to create the Project", ns.Name, req.UserInfo.Username))
	}
	return admission.Allowed(fmt.Sprintf("the Project adopts the existing namespace %s", ns.Name))
}

// validateNamespaceDelete refuses to delete a namespace whose Project has
// deletion protection, unless the Project itself is being deleted.
func (h *Projects) validateNamespaceDelete(ctx context.Context, req admission.Request) admission.Response {
	ns := &corev1.Namespace{}
	if err := h.decoder.DecodeRaw(req.OldObject, ns); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	name := ns.Labels[tenancyv1.ProjectLabel]
	if name == "" {
		return admission.Allowed("")
	}
	p := &tenancyv1.Project{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
		if apierrors.IsNotFound(err) {
			return admission.Allowed("")
		}
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if p.Spec.DeletionProtection && p.DeletionTimestamp.IsZero() {
		return admission.Denied(fmt.Sprintf("namespace %s belongs to Project %s, which has deletion protection: set spec.deletionProtection to false on the Project and delete the Project instead", ns.Name, p.Name))
	}
	return admission.Allowed("")
}

// validateTierDelete refuses to delete a tier that Projects use: their quota,
// limits and isolation would be left without their source. Move them to
// another tier first.
func (h *Projects) validateTierDelete(ctx context.Context, req admission.Request) admission.Response {
	var onTier tenancyv1.ProjectList
	if err := h.Client.List(ctx, &onTier, client.MatchingFields{tierIndex: req.Name}); err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(onTier.Items) == 0 {
		return admission.Allowed("")
	}
	names := make([]string, 0, 5)
	for i, p := range onTier.Items {
		if i == 5 {
			names = append(names, "…")
			break
		}
		names = append(names, p.Name)
	}
	return admission.Denied(fmt.Sprintf("ProjectTier %s is used by %d Project(s) (%s); set their spec.tier to another tier first",
		req.Name, len(onTier.Items), strings.Join(names, ", ")))
}

// requester is the user behind one admission request. Whether they are a
// platform admin is asked of RBAC at most once, and only when a decision
// depends on it: the common self-service request needs no round trip.
type requester struct {
	ctx   context.Context
	h     *Projects
	req   admission.Request
	asked bool
	admin bool
	err   error
}

func (h *Projects) requester(ctx context.Context, req admission.Request) *requester {
	return &requester{ctx: ctx, h: h, req: req}
}

func (r *requester) platformAdmin() (bool, error) {
	if !r.asked {
		r.admin, r.err = r.h.Authorizer.Allowed(r.ctx, r.req.UserInfo, administerProjects)
		r.asked = true
	}
	return r.admin, r.err
}
