package admission

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/hostname"
)

// FleetDomains is the fleet's domain policy (DomainPolicy objects at the
// hub): a new hostname of this cluster must lie in a domain a policy for
// this cluster grants, and, in a namespace that belongs to no Project, in
// one whose grant names that namespace. It covers every namespace, where
// the tier's domains cover Projects only. No policy for the cluster means
// no new hostname: the fleet's admins say where each cluster may publish.
type FleetDomains struct {
	// Policies reads DomainPolicies (the hub cache).
	Policies client.Reader
	// Cluster is this member cluster's name.
	Cluster string
}

func (FleetDomains) Name() string { return "fleet-domains" }

func (f FleetDomains) Check(ctx context.Context, r *Review) (Verdict, error) {
	if len(r.New) == 0 {
		return Verdict{}, nil
	}
	var list fleetv1.DomainPolicyList
	if err := f.Policies.List(ctx, &list); err != nil {
		return Verdict{}, err
	}
	var grants []fleetv1.DomainGrant
	for i := range list.Items {
		if list.Items[i].AppliesTo(f.Cluster) {
			grants = append(grants, list.Items[i].Spec.Domains...)
		}
	}
	inProject := r.NamespaceObject != nil && r.NamespaceObject.Labels[tenancyv1.ProjectLabel] != ""
	var v Verdict
	for _, h := range r.New {
		if msg := f.decide(h, r.Namespace, inProject, grants); msg != "" {
			v.Denials = append(v.Denials, msg)
		}
	}
	return v, nil
}

// decide returns why h may not be claimed, or "".
func (f FleetDomains) decide(h hostname.Hostname, namespace string, inProject bool, grants []fleetv1.DomainGrant) string {
	var in []fleetv1.DomainGrant
	for _, g := range grants {
		if underAny(h, []string{g.Domain}) {
			in = append(in, g)
		}
	}
	if len(in) == 0 {
		allowed := "none"
		if len(grants) > 0 {
			names := make([]string, 0, len(grants))
			for _, g := range grants {
				names = append(names, g.Domain)
			}
			slices.Sort(names)
			allowed = strings.Join(slices.Compact(names), ", ")
		}
		return fmt.Sprintf("hostname %s is in no domain that the fleet's domain policy lets cluster %s claim hostnames in (allowed: %s); ask the fleet's admins (DomainPolicy at the hub)",
			h.Name, f.Cluster, allowed)
	}
	if inProject {
		return ""
	}
	for _, g := range in {
		if slices.Contains(g.NamespacesOutsideProjects, "*") || slices.Contains(g.NamespacesOutsideProjects, namespace) {
			return ""
		}
	}
	return fmt.Sprintf("namespace %s belongs to no Project, and the fleet's domain policy lets only Projects claim hostnames under %s; create the object in a Project's namespace, or ask the fleet's admins to name this namespace in the DomainPolicy",
		namespace, in[0].Domain)
}
