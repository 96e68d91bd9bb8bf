package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
	"github.com/atrium-dev/atrium/internal/sources"
	"github.com/atrium-dev/atrium/webhooks/hostnames/claims"
)

// Path is where the hostnames webhook is served, for every source kind.
const Path = "/validate-hostnames"

// Hostnames is the admission handler for every source kind.
type Hostnames struct {
	// Client reads namespaces from the member cluster's cache.
	Client client.Reader
	// Reserver reserves hostnames at the hub.
	Reserver *claims.Reserver
	// Checks are the policies, in order: the tier's domains, Rego.
	Checks []Check
	// Metrics records decisions; nil records nothing.
	Metrics *Metrics
	// MaxHostnames is the most hostnames one object may carry; zero means
	// DefaultMaxHostnames.
	MaxHostnames int
	// Budget is how long one admission may spend reserving at the hub
	// before it gives up, undoes what it reserved and refuses; zero means
	// DefaultBudget. It must leave room within the API server's webhook
	// timeout (10s).
	Budget time.Duration
}

// Defaults of the bounds on one admission.
const (
	// DefaultMaxHostnames is generous for a site (a name, its www, some
	// aliases) and keeps one object from reserving a whole zone.
	DefaultMaxHostnames = 100
	// DefaultBudget leaves two of the API server's ten seconds for the
	// answer and the undo.
	DefaultBudget = 7 * time.Second
)

// undoAllowance is how long after the budget an admission may still run,
// for the undo of what it reserved and the answer.
const undoAllowance = 2 * time.Second

func (h *Hostnames) budget() time.Duration {
	if h.Budget <= 0 {
		return DefaultBudget
	}
	return h.Budget
}

var _ admission.Handler = &Hostnames{}

// Handle decides one admission request. Hostnames are released by the
// claims controller, never at admission, so deletes pass straight through.
func (h *Hostnames) Handle(ctx context.Context, req admission.Request) (resp admission.Response) {
	start := time.Now()
	defer func() { h.Metrics.observe(req, resp, time.Since(start)) }()
	// controller-runtime's webhook server gives every request the
	// manager's context (its BaseContext), which SIGTERM cancels while the
	// server still drains the requests in flight: an admission under way
	// when a replica is told to stop (a rolling upgrade, a node drained)
	// would fail its hub requests with "context canceled". Its work ends
	// by its own deadline instead (the budget and the undo's time, within
	// the API server's ten seconds), never by the replica's shutdown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.budget()+undoAllowance)
	defer cancel()

	if req.Operation == admissionv1.Delete || req.Operation == admissionv1.Connect {
		return admission.Allowed("")
	}
	gk := schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind}
	src, ok := sources.For(gk)
	if !ok {
		return admission.Allowed(fmt.Sprintf("%s carries no hostnames Atrium knows", gk))
	}
	r, problems, err := h.review(ctx, req, src)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if len(problems) > 0 {
		return admission.Denied(strings.Join(problems, "; "))
	}
	if sources.TenantOnly(src) && (r.NamespaceObject == nil || r.NamespaceObject.Labels[tenancyv1.ProjectLabel] == "") {
		return admission.Allowed(fmt.Sprintf("a %s outside Projects is the platform's and claims no hostnames", gk.Kind))
	}

	var warnings []string
	if msg, refuse, err := catchAll(req, r, src); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	} else if refuse {
		return admission.Denied(msg)
	} else if msg != "" {
		warnings = append(warnings, msg)
	}
	for _, c := range h.Checks {
		v, err := c.Check(ctx, r)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, fmt.Errorf("policy %s: %w", c.Name(), err))
		}
		if len(v.Denials) > 0 {
			return admission.Denied(strings.Join(v.Denials, "; ")).WithWarnings(warnings...)
		}
		warnings = append(warnings, v.Warnings...)
	}

	return h.reserve(ctx, req, r, start, warnings)
}

// reserve reserves every hostname of the object at the hub. A refusal
// undoes the claims this request created, so a refused object holds no
// hostname; so does running out of the time budget, so the webhook always
// answers within the API server's timeout.
func (h *Hostnames) reserve(ctx context.Context, req admission.Request, r *Review, start time.Time, warnings []string) admission.Response {
	holder := claims.Holder{Namespace: req.Namespace}
	if r.NamespaceObject != nil {
		holder.Project = r.NamespaceObject.Labels[tenancyv1.ProjectLabel]
	}
	ref := fleetv1.SourceRef{Group: req.Kind.Group, Kind: req.Kind.Kind, Name: req.Name, UID: string(r.Object.GetUID())}
	dryRun := req.DryRun != nil && *req.DryRun
	budget := h.budget()
	// Every hub request of this admission ends by the budget (the undo
	// has a short time of its own after it), so the answer is in time.
	ctx, cancel := context.WithDeadline(ctx, start.Add(budget))
	defer cancel()
	var created []*fleetv1.HostnameClaim
	refuse := func(msg string) admission.Response {
		h.Reserver.Undo(ctx, created)
		return admission.Denied(msg).WithWarnings(warnings...)
	}
	for i, host := range r.Hostnames {
		if time.Since(start) > budget {
			return refuse(fmt.Sprintf("reserving the object's %d hostnames took longer than %s (%d done; the hub is slow); nothing was kept, try again", len(r.Hostnames), budget, i))
		}
		isNew := slices.Contains(r.New, host)
		claim, err := h.Reserver.Take(ctx, host, holder, ref, dryRun)
		if claim != nil {
			created = append(created, claim)
		}
		var held *claims.HeldError
		var down *claims.UnavailableError
		var overlap *claims.OverlapError
		switch {
		case err == nil:
		case !isNew && (errors.As(err, &down) || errors.As(err, &held) || errors.As(err, &overlap)):
			// The object had this hostname before: keep admitting its
			// updates, and say what is wrong.
			warnings = append(warnings, err.Error())
		case errors.As(err, &held), errors.As(err, &down), errors.As(err, &overlap):
			return refuse(err.Error())
		default:
			return refuse(fmt.Sprintf("reserving hostname %s: %v", host.Name, err))
		}
	}
	return admission.Allowed("").WithWarnings(warnings...)
}

// review decodes the request and normalizes the hostnames of the object
// (and of the old object, on update). It returns the problems with the
// hostnames as written, for the user to fix.
func (h *Hostnames) review(ctx context.Context, req admission.Request, src sources.Source) (*Review, []string, error) {
	obj, err := decode(req.Object.Raw)
	if err != nil {
		return nil, nil, err
	}
	r := &Review{
		Operation: string(req.Operation),
		Kind:      schema.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind},
		Namespace: req.Namespace,
		Name:      req.Name,
		Object:    obj,
		UserInfo:  req.UserInfo,
		DryRun:    req.DryRun != nil && *req.DryRun,
	}
	raw, err := src.Hostnames(obj)
	if err != nil {
		return nil, []string{fmt.Sprintf("reading hostnames: %v", err)}, nil
	}
	max := h.MaxHostnames
	if max <= 0 {
		max = DefaultMaxHostnames
	}
	if len(raw) > max {
		// Before normalizing or writing anything.
		return r, []string{fmt.Sprintf("the object has %d hostnames; the most one object may have is %d: split it into several", len(raw), max)}, nil
	}
	var invalid []sources.Invalid
	if r.Hostnames, invalid = sources.Normalize(src, raw); len(invalid) > 0 {
		var problems []string
		for _, in := range invalid {
			problems = append(problems, in.Err.Error())
		}
		return r, problems, nil
	}

	var before []hostname.Hostname
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if r.OldObject, err = decode(req.OldObject.Raw); err != nil {
			return nil, nil, err
		}
		// Hostnames the old object had in a form no longer accepted are
		// simply treated as new.
		before, _, _ = sources.Names(src, r.OldObject)
	}
	for _, host := range r.Hostnames {
		if !slices.Contains(before, host) {
			r.New = append(r.New, host)
		}
	}

	if req.Namespace != "" {
		ns := &corev1.Namespace{}
		if err := h.Client.Get(ctx, client.ObjectKey{Name: req.Namespace}, ns); err == nil {
			r.NamespaceObject = ns
		} else if client.IgnoreNotFound(err) != nil {
			return nil, nil, err
		}
	}
	return r, nil, nil
}

// catchAll refuses, in a Project's namespace, an object part that would
// serve hostnames it does not name: every hostname a tenant serves is a
// claim. An object that had the same catch-all before this update (made
// before the rule) is admitted with a warning, so that it can be fixed.
// It also refuses what else the kind keeps from tenants (a DNSEndpoint's
// record types beyond A, AAAA and CNAME).
func catchAll(req admission.Request, r *Review, src sources.Source) (msg string, refuse bool, err error) {
	if r.NamespaceObject == nil || r.NamespaceObject.Labels[tenancyv1.ProjectLabel] == "" {
		return "", false, nil
	}
	what, err := src.CatchAll(r.Object)
	if err != nil {
		return "", false, err
	}
	if what != "" {
		msg = fmt.Sprintf("%s %s: in a Project's namespace every hostname served must be named, so that it can be claimed; name the hostnames", req.Kind.Kind, what)
		if r.OldObject != nil {
			if before, _ := src.CatchAll(r.OldObject); before != "" {
				return msg, false, nil
			}
		}
		return msg, true, nil
	}
	what, err = sources.TenantRefusal(src, r.Object)
	if err != nil || what == "" {
		return "", false, err
	}
	return fmt.Sprintf("%s %s", req.Kind.Kind, what), true, nil
}

func decode(raw []byte) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("decoding object: %w", err)
	}
	return u, nil
}
