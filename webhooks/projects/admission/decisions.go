package admission

import (
	"fmt"
	"path"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// DefaultReserved are the name patterns no Project may take: the cluster's
// own namespaces, OKD's, and the platform's.
var DefaultReserved = []string{"default", "kube-*", "openshift", "openshift-*", "atrium", "atrium-*", "kubernetes", "kubernetes-*"}

// validateName checks that a Project name can be a namespace name and is not
// reserved. The API server allows dots in cluster-scoped names; namespaces
// do not.
func validateName(name string, reserved []string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("Project name %q cannot be a namespace name: %s; use lower-case letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
			name, strings.Join(errs, "; "))
	}
	if p, ok := reservedBy(name, reserved); ok {
		return fmt.Errorf("Project name %q is reserved for the platform (pattern %q); choose another name", name, p)
	}
	return nil
}

// reservedBy returns the reserved pattern that a name matches.
func reservedBy(name string, reserved []string) (string, bool) {
	for _, p := range reserved {
		if ok, _ := path.Match(p, name); ok {
			return p, true
		}
	}
	return "", false
}

// privilegedGroups may never be given a role through a Project: that would
// hand cluster-wide or node identities to a tenant's choice.
var privilegedGroups = map[string]bool{"system:masters": true, "system:nodes": true}

// validateSubjects checks the admins, members and viewers of a Project.
func validateSubjects(spec *tenancyv1.ProjectSpec) []string {
	var problems []string
	check := func(field string, subjects []tenancyv1.Subject) {
		seen := map[tenancyv1.Subject]bool{}
		for i, s := range subjects {
			at := fmt.Sprintf("spec.%s[%d]", field, i)
			kind := s.Kind
			if kind == "" {
				kind = tenancyv1.UserSubject
			}
			switch {
			case kind != tenancyv1.UserSubject && kind != tenancyv1.GroupSubject:
				problems = append(problems, fmt.Sprintf("%s.kind %q must be User or Group", at, s.Kind))
			case strings.TrimSpace(s.Name) != s.Name || s.Name == "":
				problems = append(problems, fmt.Sprintf("%s.name %q must be a non-empty name without surrounding spaces", at, s.Name))
			case strings.IndexFunc(s.Name, unicode.IsControl) >= 0:
				problems = append(problems, fmt.Sprintf("%s.name must not contain control characters", at))
			case kind == tenancyv1.GroupSubject && privilegedGroups[s.Name]:
				problems = append(problems, fmt.Sprintf("%s: group %q cannot be given a role in a Project", at, s.Name))
			}
			key := tenancyv1.Subject{Kind: kind, Name: s.Name}
			if seen[key] {
				problems = append(problems, fmt.Sprintf("%s: %s %q is listed twice; remove one", at, kind, s.Name))
			}
			seen[key] = true
		}
	}
	check("admins", spec.Admins)
	check("members", spec.Members)
	check("viewers", spec.Viewers)
	return problems
}

// systemIdentity reports whether a user name is one of the identities the
// API server reserves for its own and its workloads' use (ServiceAccounts,
// nodes, anonymous): none of them is a person who can be held to a
// per-user limit. A tenant can mint ServiceAccounts at will, so a Project
// created by one would be a Project no limit counts.
func systemIdentity(user string) bool {
	return strings.HasPrefix(user, "system:")
}

// ownerChange is what ownerDecision looks at.
type ownerChange struct {
	creating bool
	// old is the Project's spec before an update; nil on create.
	old *tenancyv1.ProjectSpec
	new *tenancyv1.ProjectSpec
	// requester is the user name of the request.
	requester     string
	platformAdmin bool
	// onlyOffer is true when an update changes nothing but spec.owner and
	// spec.handOverTo.
	onlyOffer bool
}

// ownerDecision decides whether a requester may give a Project the owner
// and the hand-over offer it asks for.
//   - Create: the owner is the requester, a person; ServiceAccounts and other
//     system identities do not create Projects by self-service.
//   - Hand over: only the owner offers (spec.handOverTo); only the named
//     user accepts, by setting spec.owner to themselves in an edit that
//     changes nothing else, or declines by clearing the offer. Nobody is
//     made owner of a Project unasked, and a made-up name can never accept.
//   - Platform admins may do all of it directly.
func ownerDecision(c ownerChange) error {
	if c.new.Owner == "" {
		return fmt.Errorf("spec.owner must not be empty; leave it out on create and it becomes you")
	}
	if err := validateOffer(c.new); err != nil && (c.old == nil || c.old.HandOverTo != c.new.HandOverTo) {
		return err
	}
	if c.platformAdmin {
		return nil
	}
	if c.creating {
		if systemIdentity(c.requester) {
			return fmt.Errorf("%s is not a person: Projects are owned by people and count against their per-user limit, so ServiceAccounts and other system identities cannot create them by self-service; "+
				"create the Project as yourself, or ask a platform admin to grant the automation the \"administer\" verb on projects", c.requester)
		}
		if c.new.Owner != c.requester {
			return fmt.Errorf("spec.owner %q is not you (%q): only platform admins may create a Project for someone else; leave spec.owner out", c.new.Owner, c.requester)
		}
		return nil
	}
	old := c.old
	switch {
	case c.new.Owner != old.Owner:
		if c.requester == c.new.Owner && old.HandOverTo == c.requester && c.onlyOffer {
			return nil // the recipient accepts
		}
		if c.requester == c.new.Owner && old.HandOverTo == c.requester {
			return fmt.Errorf("accepting Project ownership changes spec.owner only; make your other changes in a second edit")
		}
		if c.requester == old.Owner {
			return fmt.Errorf("the owner hands a Project over by offering it: set spec.handOverTo to %q and keep spec.owner %q; %s accepts by setting spec.owner to themselves",
				c.new.Owner, old.Owner, c.new.Owner)
		}
		return fmt.Errorf("spec.owner may be changed only by accepting an offer made to you in spec.handOverTo, or by a platform admin; keep it %q", old.Owner)
	case c.new.HandOverTo != old.HandOverTo:
		if c.requester == old.Owner {
			return nil
		}
		if c.requester == old.HandOverTo && c.new.HandOverTo == "" && c.onlyOffer {
			return nil // the recipient declines
		}
		return fmt.Errorf("spec.handOverTo may be set only by the owner (%q) or a platform admin", old.Owner)
	}
	return nil
}

// validateOffer checks the user a Project is offered to.
func validateOffer(spec *tenancyv1.ProjectSpec) error {
	to := spec.HandOverTo
	switch {
	case to == "":
		return nil
	case strings.TrimSpace(to) != to || strings.IndexFunc(to, unicode.IsControl) >= 0:
		return fmt.Errorf("spec.handOverTo %q must be a user name without surrounding spaces or control characters", to)
	case systemIdentity(to):
		return fmt.Errorf("spec.handOverTo %q is not a person: a Project can be handed over only to a user", to)
	case to == spec.Owner:
		return fmt.Errorf("spec.handOverTo %q is already the owner; clear spec.handOverTo", to)
	}
	return nil
}

// limitDecision decides whether an owner who already owns `owned` Projects on
// a tier may own one more.
func limitDecision(tier *tenancyv1.ProjectTier, owner string, owned int) error {
	max := tier.Spec.MaxProjectsPerUser
	if max == nil || owned < int(*max) {
		return nil
	}
	return fmt.Errorf("%s already owns %d Project(s) on tier %q, the most that tier allows per user is %d; delete one, or ask an admin for another tier",
		owner, owned, tier.Name, *max)
}

// immutableAnnotationChanged reports whether a client tried to set or change
// the adoption annotation, which only admission writes.
func immutableAnnotationChanged(old, new map[string]string) bool {
	return old[tenancyv1.AdoptNamespaceAnnotation] != new[tenancyv1.AdoptNamespaceAnnotation]
}
