package admission

import (
	"context"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
)

// Review is what a policy check sees of one admission request.
type Review struct {
	Operation string
	Kind      schema.GroupVersionKind
	Namespace string
	Name      string
	Object    *unstructured.Unstructured
	OldObject *unstructured.Unstructured
	UserInfo  authenticationv1.UserInfo
	DryRun    bool
	// NamespaceObject is the object's namespace, when it exists.
	NamespaceObject *corev1.Namespace
	// Hostnames are the object's normalized hostnames; New those it did not
	// have before this request.
	Hostnames []hostname.Hostname
	New       []hostname.Hostname
}

// Verdict is a check's answer: denials refuse the request, warnings are
// shown to the user.
type Verdict struct {
	Denials  []string
	Warnings []string
}

// Check is one policy. Checks must be safe for concurrent use.
type Check interface {
	Name() string
	Check(ctx context.Context, r *Review) (Verdict, error)
}

// TierDomains is the built-in policy: a new hostname of a Project's
// namespace must lie under a domain that the Project's tier allows, and the
// Project may hold no more hostnames than its tier allows. Objects in
// namespaces that belong to no Project are not restricted by it.
type TierDomains struct {
	Client client.Reader
	// Claims reads this cluster's claims (the hub cache), to count a
	// Project's hostnames; nil skips the count.
	Claims client.Reader
}

func (TierDomains) Name() string { return "tier-domains" }

func (t TierDomains) Check(ctx context.Context, r *Review) (Verdict, error) {
	if len(r.New) == 0 || r.NamespaceObject == nil {
		return Verdict{}, nil
	}
	projectName := r.NamespaceObject.Labels[tenancyv1.ProjectLabel]
	if projectName == "" {
		return Verdict{}, nil
	}
	project := &tenancyv1.Project{}
	if err := t.Client.Get(ctx, client.ObjectKey{Name: projectName}, project); err != nil {
		if apierrors.IsNotFound(err) {
			return Verdict{}, nil
		}
		return Verdict{}, err
	}
	tier := &tenancyv1.ProjectTier{}
	if err := t.Client.Get(ctx, client.ObjectKey{Name: project.Spec.Tier}, tier); err != nil {
		if apierrors.IsNotFound(err) {
			return Verdict{Denials: []string{fmt.Sprintf("Project %s is on tier %q, which does not exist, so no domain is allowed; ask an admin", project.Name, project.Spec.Tier)}}, nil
		}
		return Verdict{}, err
	}
	var v Verdict
	if err := t.checkCount(ctx, r, project, tier, &v); err != nil {
		return Verdict{}, err
	}
	for _, h := range r.New {
		if d, ok := overShared(h, tier.Spec.AllowedDomains); ok {
			if h.Wildcard {
				v.Denials = append(v.Denials, fmt.Sprintf("wildcard %s would take every unclaimed name of %s, a domain all Projects of tier %q share; a wildcard must lie under a name of your own, such as *.%s.%s",
					h.Name, d, tier.Name, project.Name, d))
			} else {
				v.Denials = append(v.Denials, fmt.Sprintf("hostname %s is the domain all Projects of tier %q share, not a name in it; use a name under it, such as www.%s.%s",
					h.Name, tier.Name, project.Name, d))
			}
			continue
		}
		if d, ok := wildcardOutsideOwn(h, project.Name, tier.Spec.AllowedDomains); ok {
			v.Denials = append(v.Denials, fmt.Sprintf("wildcard %s is not under %s.%s: a Project's wildcards lie under its own name, so that no Project takes the names of another's",
				h.Name, project.Name, d))
			continue
		}
		if !underAny(h, tier.Spec.AllowedDomains) {
			allowed := "none"
			if len(tier.Spec.AllowedDomains) > 0 {
				allowed = strings.Join(tier.Spec.AllowedDomains, ", ")
			}
			v.Denials = append(v.Denials, fmt.Sprintf("hostname %s is not under a domain that tier %q of Project %s allows (allowed: %s)",
				h.Name, tier.Name, project.Name, allowed))
		}
	}
	return v, nil
}

// checkCount refuses new hostnames that would take the Project past its
// tier's MaxHostnamesPerProject. It counts the claims the namespace holds
// in this cluster's cache of the hub, before anything is written; a
// hostname the namespace holds already (for another object) does not count
// again.
func (t TierDomains) checkCount(ctx context.Context, r *Review, project *tenancyv1.Project, tier *tenancyv1.ProjectTier, v *Verdict) error {
	max := tier.Spec.MaxHostnamesPerProject
	if max == nil || t.Claims == nil {
		return nil
	}
	var held fleetv1.HostnameClaimList
	if err := t.Claims.List(ctx, &held, client.MatchingLabels{fleetv1.NamespaceLabel: r.Namespace}); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, c := range held.Items {
		names[c.Name] = true
	}
	more := 0
	for _, h := range r.New {
		if !names[hostname.ClaimName(h)] {
			more++
		}
	}
	if more > 0 && len(names)+more > int(*max) {
		v.Denials = append(v.Denials, fmt.Sprintf("Project %s holds %d hostname(s) and this object would add %d; tier %q allows at most %d per Project: remove hostnames you no longer use, or ask for another tier",
			project.Name, len(names), more, tier.Name, *max))
	}
	return nil
}

// wildcardOutsideOwn reports whether a wildcard lies under one of the
// shared domains but not under the Project's own name in it
// ("*.<project>.<domain>" and deeper), and which domain.
func wildcardOutsideOwn(h hostname.Hostname, project string, domains []string) (string, bool) {
	if !h.Wildcard {
		return "", false
	}
	base := strings.TrimPrefix(h.Name, "*.")
	for _, d := range domains {
		d = strings.TrimSuffix(strings.ToLower(d), ".")
		if d == "" || !strings.HasSuffix(base, "."+d) {
			continue
		}
		own := project + "." + d
		if base == own || strings.HasSuffix(base, "."+own) {
			return "", false
		}
		return d, true
	}
	return "", false
}

// overShared reports whether a hostname is one of the shared domains
// itself (its apex) or a wildcard directly over one, and which: a tier's
// domains belong to all of its Projects, so no one Project may take the
// name or every name of one.
func overShared(h hostname.Hostname, domains []string) (string, bool) {
	name := strings.TrimPrefix(h.Name, "*.")
	for _, d := range domains {
		if d = strings.TrimSuffix(strings.ToLower(d), "."); d != "" && name == d {
			return d, true
		}
	}
	return "", false
}

// underAny reports whether a hostname equals or lies beneath one of the
// domains. A wildcard "*.d" lies beneath d's parents and needs more than d
// itself: "*.example.org" is under "example.org", since every name it
// covers is.
func underAny(h hostname.Hostname, domains []string) bool {
	name := strings.TrimPrefix(h.Name, "*.")
	for _, d := range domains {
		d = strings.TrimSuffix(strings.ToLower(d), ".")
		if d == "" {
			continue
		}
		if name == d || strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}
