package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/slots"
)

// tierIndex indexes Projects by spec.tier to find a tier's Projects. Named
// after this package so that the webhook can share a manager with the
// operator, which indexes spec.tier too.
const tierIndex = "admission.spec.tier"

// Paths the webhooks are served at.
const (
	MutateProjectPath     = "/mutate-tenancy-atrium-dev-v1alpha1-project"
	ValidateProjectPath   = "/validate-tenancy-atrium-dev-v1alpha1-project"
	ValidateNamespacePath = "/validate-v1-namespace"
	ValidateTierPath      = "/validate-tenancy-atrium-dev-v1alpha1-projecttier"
)

// Projects is the admission logic of Projects, tiers, Project namespaces
// and the OpenStackVolumes in them.
type Projects struct {
	// Client reads Projects, tiers, namespaces and OpenStackVolumes, from
	// the cache.
	Client client.Client
	// Authorizer asks RBAC what the requester may do.
	Authorizer Authorizer
	// DefaultTier is given to Projects created without one; empty means a
	// Project must name its tier.
	DefaultTier string
	// Reserved are name patterns (path.Match syntax) no Project may take.
	// The namespaces tiers admit traffic from are reserved too.
	Reserved []string
	// Slots keeps the per-user limits exact (see package slots).
	Slots *slots.Ledger
	// APIReader reads what must not come from a cache: the ClusterRole
	// whose rights adopting a namespace gives.
	APIReader client.Reader

	decoder admission.Decoder
}

// +kubebuilder:webhook:path=/mutate-tenancy-atrium-dev-v1alpha1-project,mutating=true,failurePolicy=fail,sideEffects=None,groups=tenancy.atrium.dev,resources=projects,verbs=create;update,versions=v1alpha1,name=mproject.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-tenancy-atrium-dev-v1alpha1-project,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=tenancy.atrium.dev,resources=projects,verbs=create;update;delete,versions=v1alpha1,name=vproject.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-tenancy-atrium-dev-v1alpha1-projecttier,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.atrium.dev,resources=projecttiers,verbs=delete,versions=v1alpha1,name=vprojecttier.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-tenancy-atrium-dev-v1alpha1-projecttier,mutating=false,failurePolicy=ignore,sideEffects=None,groups=tenancy.atrium.dev,resources=projecttiers,verbs=create;update,versions=v1alpha1,name=wprojecttier.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-v1-namespace,mutating=false,failurePolicy=fail,sideEffects=None,groups="",resources=namespaces,verbs=delete,versions=v1,name=vnamespace.tenancy.atrium.dev,admissionReviewVersions=v1,timeoutSeconds=10

// +kubebuilder:rbac:groups=tenancy.atrium.dev,resources=projects;projecttiers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=get,resourceNames=admin
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;create;delete,namespace=system

// SetupWithManager registers the webhooks and the indexes they use.
func (h *Projects) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &tenancyv1.Project{}, tierIndex, func(o client.Object) []string {
		return []string{o.(*tenancyv1.Project).Spec.Tier}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &storagev1.OpenStackVolume{}, volumeIDIndex, heldVolumeIDs); err != nil {
		return err
	}
	h.decoder = admission.NewDecoder(mgr.GetScheme())
	srv := mgr.GetWebhookServer()
	srv.Register(MutateProjectPath, &webhook.Admission{Handler: detached(h.mutate)})
	srv.Register(ValidateProjectPath, &webhook.Admission{Handler: detached(h.validate)})
	srv.Register(ValidateNamespacePath, &webhook.Admission{Handler: detached(h.validateNamespaceDelete)})
	srv.Register(ValidateTierPath, &webhook.Admission{Handler: detached(h.validateTier)})
	srv.Register(ValidateVolumePath, &webhook.Admission{Handler: detached(h.validateVolume)})
	return nil
}

// requestBudget bounds one admission's work: the webhooks' timeoutSeconds,
// after which the API server has given up on the answer.
const requestBudget = 10 * time.Second

// detached runs a handler on a context of its own. controller-runtime gives
// every request the manager's context, which SIGTERM cancels while the
// server still drains the requests in flight: an admission under way when
// a replica is told to stop (a rolling upgrade, a node drained) would fail
// its reads with "context canceled" and refuse the user. Its work ends by
// its own deadline instead, never by the replica's shutdown.
func detached(f admission.HandlerFunc) admission.HandlerFunc {
	return func(ctx context.Context, req admission.Request) admission.Response {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestBudget)
		defer cancel()
		return f(ctx, req)
	}
}

// mutate fills in what a requester need not say: the owner (the requester),
// the default tier, and which existing namespace, if any, the Project is
// about to adopt. On an update that changes the owner it withdraws the
// hand-over offer, which is then accepted or void.
func (h *Projects) mutate(ctx context.Context, req admission.Request) admission.Response {
	p := &tenancyv1.Project{}
	if err := h.decoder.Decode(req, p); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if req.Operation == admissionv1.Update {
		old := &tenancyv1.Project{}
		if err := h.decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if old.Spec.Owner == p.Spec.Owner || p.Spec.HandOverTo == "" {
			return admission.Allowed("")
		}
		p.Spec.HandOverTo = ""
		raw, err := json.Marshal(p)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		return admission.PatchResponseFromRaw(req.Object.Raw, raw)
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
	if resp, ok := h.checkPlatformName(ctx, p.Name); !ok {
		return resp
	}
	if problems := validateSubjects(&p.Spec); len(problems) > 0 {
		return admission.Denied(strings.Join(problems, "; "))
	}
	rq := h.requester(ctx, req)
	if resp, ok := h.checkOwner(rq, nil, p); !ok {
		return resp
	}
	tier, resp, ok := h.checkTier(ctx, rq, p)
	if !ok {
		return resp
	}
	adoption := h.checkAdoption(ctx, req, p)
	if !adoption.Allowed {
		return adoption
	}
	// Last, once nothing else can refuse the request: a slot taken for a
	// request that is refused is held for the grace period.
	if resp, ok := h.takeSlot(ctx, rq, tier, p); !ok {
		return resp
	}
	return adoption
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
	if resp, ok := h.checkRecipient(rq, old, p); !ok {
		return resp
	}
	if resp, ok := h.checkOwner(rq, old, p); !ok {
		return resp
	}
	if old.Spec.Tier != p.Spec.Tier || old.Spec.Owner != p.Spec.Owner {
		tier, resp, ok := h.checkTier(ctx, rq, p)
		if !ok {
			return resp
		}
		if resp, ok := h.takeSlot(ctx, rq, tier, p); !ok {
			return resp
		}
	}
	return admission.Allowed("")
}

// checkOwner applies ownerDecision, asking RBAC whether the requester is a
// platform admin only when that would change the answer.
func (h *Projects) checkOwner(rq *requester, old, p *tenancyv1.Project) (admission.Response, bool) {
	c := ownerChange{creating: old == nil, new: &p.Spec, requester: rq.req.UserInfo.Username}
	if old != nil {
		c.old = &old.Spec
		c.onlyOffer = onlyOfferChanged(old, p)
	}
	err := ownerDecision(c)
	if err != nil && p.Spec.Owner != "" {
		admin, aerr := rq.platformAdmin()
		if aerr != nil {
			return admission.Errored(http.StatusInternalServerError, aerr), false
		}
		c.platformAdmin = admin
		err = ownerDecision(c)
	}
	if err != nil {
		return admission.Denied(err.Error()), false
	}
	return admission.Response{}, true
}

// checkRecipient confines the user a Project is offered to: RBAC lets them
// update the Project so that they can accept, and they may do only that
// (or decline) until they own it, unless they are an admin of it anyway.
func (h *Projects) checkRecipient(rq *requester, old, p *tenancyv1.Project) (admission.Response, bool) {
	user := rq.req.UserInfo
	if old.Spec.HandOverTo == "" || user.Username != old.Spec.HandOverTo || user.Username == old.Spec.Owner ||
		onlyOfferChanged(old, p) || listedAdmin(&old.Spec, user.Username, user.Groups) {
		return admission.Response{}, true
	}
	admin, err := rq.platformAdmin()
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	if admin {
		return admission.Response{}, true
	}
	return admission.Denied(fmt.Sprintf("Project %s is offered to you (%s): accept it by setting spec.owner to %q, or decline by clearing spec.handOverTo, and change nothing else until you own it",
		old.Name, user.Username, user.Username)), false
}

// onlyOfferChanged reports whether an update changes nothing but the owner
// and the hand-over offer.
func onlyOfferChanged(old, p *tenancyv1.Project) bool {
	spec := p.Spec
	spec.Owner, spec.HandOverTo = old.Spec.Owner, old.Spec.HandOverTo
	return equality.Semantic.DeepEqual(spec, old.Spec) &&
		equality.Semantic.DeepEqual(p.Labels, old.Labels) &&
		equality.Semantic.DeepEqual(p.Annotations, old.Annotations) &&
		equality.Semantic.DeepEqual(p.Finalizers, old.Finalizers)
}

// listedAdmin reports whether a user is among a Project's admins, by name or
// through one of their groups.
func listedAdmin(spec *tenancyv1.ProjectSpec, user string, groups []string) bool {
	for _, s := range spec.Admins {
		switch {
		case (s.Kind == "" || s.Kind == tenancyv1.UserSubject) && s.Name == user:
			return true
		case s.Kind == tenancyv1.GroupSubject && slices.Contains(groups, s.Name):
			return true
		}
	}
	return false
}

// checkTier checks that the Project's tier exists and that the requester may
// use it, and returns it.
func (h *Projects) checkTier(ctx context.Context, rq *requester, p *tenancyv1.Project) (*tenancyv1.ProjectTier, admission.Response, bool) {
	if p.Spec.Tier == "" {
		return nil, admission.Denied("spec.tier is required: name a ProjectTier (kubectl get projecttiers lists them)"), false
	}
	tier := &tenancyv1.ProjectTier{}
	if err := h.Client.Get(ctx, client.ObjectKey{Name: p.Spec.Tier}, tier); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, admission.Denied(fmt.Sprintf("ProjectTier %q does not exist; name one of those that `kubectl get projecttiers` lists", p.Spec.Tier)), false
		}
		return nil, admission.Errored(http.StatusInternalServerError, err), false
	}
	if !tier.Spec.SelfService {
		// Platform admins hold "use" on every tier through their role.
		ok, err := h.Authorizer.Allowed(ctx, rq.req.UserInfo, useTier(tier.Name))
		if err != nil {
			return nil, admission.Errored(http.StatusInternalServerError, err), false
		}
		if !ok {
			return nil, admission.Denied(fmt.Sprintf("tier %q is not open to self-service and you (%s) may not use it; choose a self-service tier or ask an admin for the \"use\" permission on it", tier.Name, rq.req.UserInfo.Username)), false
		}
	}
	return tier, admission.Response{}, true
}

// takeSlot counts the Project against its owner's limit on its tier: it
// takes one of the owner's slots there (see package slots), or refuses the
// request when all are held. Platform admins are not held to the limit, but
// what they give an owner still counts.
func (h *Projects) takeSlot(ctx context.Context, rq *requester, tier *tenancyv1.ProjectTier, p *tenancyv1.Project) (admission.Response, bool) {
	if tier.Spec.MaxProjectsPerUser == nil {
		return admission.Response{}, true
	}
	if p.UID == "" {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("the Project has no UID yet; admission cannot count it")), false
	}
	dryRun := rq.req.DryRun != nil && *rq.req.DryRun
	limit := int(*tier.Spec.MaxProjectsPerUser)
	out, err := h.Slots.Take(ctx, slots.HolderOf(p), limit, false, dryRun)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	if out.Taken {
		return admission.Response{}, true
	}
	admin, err := rq.platformAdmin()
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	if !admin {
		return admission.Denied(limitDecision(tier, p.Spec.Owner, out.Held).Error()), false
	}
	if _, err := h.Slots.Take(ctx, slots.HolderOf(p), limit, true, dryRun); err != nil {
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	return admission.Response{}, true
}

// checkPlatformName refuses a Project named like a namespace that a tier
// admits traffic from: the platform relies on those names (its ingress
// controller, its monitoring), so no tenant may take one, even before the
// platform installs there.
func (h *Projects) checkPlatformName(ctx context.Context, name string) (admission.Response, bool) {
	var tiers tenancyv1.ProjectTierList
	if err := h.Client.List(ctx, &tiers); err != nil {
		return admission.Errored(http.StatusInternalServerError, err), false
	}
	for _, t := range tiers.Items {
		if slices.Contains(t.Spec.NetworkPolicy.AllowFromNamespaces, name) {
			return admission.Denied(fmt.Sprintf("Project name %q is reserved for the platform: tier %s admits traffic from the namespace of that name into its Projects; choose another name", name, t.Name)), false
		}
	}
	return admission.Response{}, true
}

// checkAdoption allows a Project named like an existing namespace only when
// no other Project holds it and the requester already holds there every
// right that adopting it gives: those of the role the owner is bound to,
// and deleting the namespace, which deleting the Project does.
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
	role := &rbacv1.ClusterRole{}
	if err := h.APIReader.Get(ctx, client.ObjectKey{Name: OwnerRole}, role); err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading ClusterRole %s: %w", OwnerRole, err))
	}
	missing, err := missingRights(ctx, h.Authorizer, req.UserInfo, adoptionRights(role, ns.Name))
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(missing) > 0 {
		shown := missing
		more := ""
		if len(shown) > 3 {
			shown, more = shown[:3], fmt.Sprintf(" and %d more", len(missing)-3)
		}
		return admission.Denied(fmt.Sprintf("namespace %s already exists and adopting it would give you (%s) rights you do not hold there: %s%s; "+
			"only someone who is already a full admin of the namespace (role %q, and allowed to delete it) may adopt it. Choose another name, or ask such an admin to create the Project",
			ns.Name, req.UserInfo.Username, strings.Join(shown, ", "), more, OwnerRole))
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

// validateTier refuses to delete a tier that Projects use and warns (a
// webhook that fails open: it only advises) when
// a tier admits traffic from a namespace that belongs to a tenant: the
// isolating NetworkPolicy never admits tenant namespaces (a tenant could
// name its Project so), so such an entry has no effect while the tenant's
// Project exists.
func (h *Projects) validateTier(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation == admissionv1.Delete {
		return h.validateTierDelete(ctx, req)
	}
	tier := &tenancyv1.ProjectTier{}
	if err := h.decoder.Decode(req, tier); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	var warnings []string
	for _, name := range tier.Spec.NetworkPolicy.AllowFromNamespaces {
		p := &tenancyv1.Project{}
		switch err := h.Client.Get(ctx, client.ObjectKey{Name: name}, p); {
		case err == nil:
			warnings = append(warnings, fmt.Sprintf("namespace %s belongs to Project %s (owner %s), a tenant: Projects never admit traffic from tenant namespaces, so this entry has no effect while that Project exists", name, p.Name, p.Spec.Owner))
		case !apierrors.IsNotFound(err):
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	return admission.Allowed("").WithWarnings(warnings...)
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
