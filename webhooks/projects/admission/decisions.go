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

// ownerDecision decides whether a requester may give a Project the owner it
// asks for. On create the owner must be the requester; on update the owner
// may change only by the current owner's hand. Platform admins may do both.
func ownerDecision(creating bool, oldOwner, newOwner, requester string, platformAdmin bool) error {
	if newOwner == "" {
		return fmt.Errorf("spec.owner must not be empty; leave it out on create and it becomes you")
	}
	if platformAdmin {
		return nil
	}
	if creating {
		if newOwner != requester {
			return fmt.Errorf("spec.owner %q is not you (%q): only platform admins may create a Project for someone else; leave spec.owner out", newOwner, requester)
		}
		return nil
	}
	if newOwner != oldOwner && requester != oldOwner {
		return fmt.Errorf("spec.owner may be changed only by the owner (%q) or a platform admin; keep it %q", oldOwner, oldOwner)
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
