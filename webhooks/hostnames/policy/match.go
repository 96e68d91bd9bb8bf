package policy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Values of spec.match.scope and spec.match.source, as in Gatekeeper.
const (
	scopeAll        = "*"
	scopeCluster    = "Cluster"
	scopeNamespaced = "Namespaced"

	sourceAll       = "All"
	sourceOriginal  = "Original"
	sourceGenerated = "Generated"
)

// matchSpec is the JSON form of a constraint's spec.match.
type matchSpec struct {
	Kinds []struct {
		APIGroups []string `json:"apiGroups"`
		Kinds     []string `json:"kinds"`
	} `json:"kinds"`
	Scope              string                `json:"scope"`
	Namespaces         []wildcard            `json:"namespaces"`
	ExcludedNamespaces []wildcard            `json:"excludedNamespaces"`
	LabelSelector      *metav1.LabelSelector `json:"labelSelector"`
	NamespaceSelector  *metav1.LabelSelector `json:"namespaceSelector"`
	Name               wildcard              `json:"name"`
	Source             string                `json:"source"`
}

// criteria is a constraint's spec.match compiled once, when the constraint is
// added, so that a review only evaluates it. The zero value matches
// everything, like a constraint without spec.match.
type criteria struct {
	spec              matchSpec
	labelSelector     labels.Selector // nil: any labels
	namespaceSelector labels.Selector // nil: any namespace
}

// parseMatch reads and compiles spec.match of constraint.
func parseMatch(constraint *unstructured.Unstructured) (*criteria, error) {
	raw, found, err := unstructured.NestedMap(constraint.Object, "spec", "match")
	if err != nil {
		return nil, fmt.Errorf("spec.match: %w", err)
	}
	c := &criteria{}
	if !found {
		return c, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &c.spec); err != nil {
		return nil, fmt.Errorf("spec.match: %w", err)
	}
	if c.labelSelector, err = selector(c.spec.LabelSelector); err != nil {
		return nil, fmt.Errorf("spec.match.labelSelector: %w", err)
	}
	if c.namespaceSelector, err = selector(c.spec.NamespaceSelector); err != nil {
		return nil, fmt.Errorf("spec.match.namespaceSelector: %w", err)
	}
	return c, nil
}

// selector compiles s; nil stays nil so that "unset" and "empty" (which
// matches everything too) need no special case later.
func selector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

// subject is what spec.match looks at in one object of a review (the object,
// or the old object of an UPDATE).
type subject struct {
	gvk          schema.GroupVersionKind
	namespace    string // empty for cluster-scoped objects
	name         string
	generateName string
	labels       labels.Set
}

// isNamespace reports whether s is a Namespace, which Gatekeeper treats as
// belonging to itself for namespaces, excludedNamespaces and namespaceSelector.
func (s subject) isNamespace() bool {
	return s.gvk.Group == "" && s.gvk.Kind == "Namespace"
}

// namespaceName is the namespace spec.match compares with: the object's own,
// or its name for a Namespace; empty for other cluster-scoped objects.
func (s subject) namespaceName() string {
	if s.isNamespace() {
		return s.name
	}
	return s.namespace
}

// matches reports whether s passes every part of spec.match. ns is the
// Namespace object of s, nil if unknown; only namespaceSelector needs it, and
// it is an error for it to be missing then, so the framework rejects the
// request rather than silently skipping the constraint.
func (c *criteria) matches(s subject, ns *corev1.Namespace) (bool, error) {
	ok := c.kindMatches(s) &&
		c.scopeMatches(s) &&
		c.namespacesMatch(s) &&
		!c.namespaceExcluded(s) &&
		c.labelsMatch(s) &&
		c.nameMatches(s) &&
		c.spec.Source != sourceGenerated // reviews are always of original objects
	if !ok {
		return false, nil
	}
	return c.namespaceSelectorMatches(s, ns)
}

func (c *criteria) kindMatches(s subject) bool {
	if len(c.spec.Kinds) == 0 {
		return true
	}
	for _, k := range c.spec.Kinds {
		if anyOrContains(k.Kinds, s.gvk.Kind) && anyOrContains(k.APIGroups, s.gvk.Group) {
			return true
		}
	}
	return false
}

// anyOrContains reports whether list is empty, holds "*" or holds v.
func anyOrContains(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, e := range list {
		if e == "*" || e == v {
			return true
		}
	}
	return false
}

func (c *criteria) scopeMatches(s subject) bool {
	clusterScoped := s.isNamespace() || s.namespace == ""
	switch c.spec.Scope {
	case scopeCluster:
		return clusterScoped
	case scopeNamespaced:
		return !clusterScoped
	default:
		return true
	}
}

// namespacesMatch: cluster-scoped objects other than Namespaces have no
// namespace to compare, so the list cannot exclude them.
func (c *criteria) namespacesMatch(s subject) bool {
	ns := s.namespaceName()
	if len(c.spec.Namespaces) == 0 || ns == "" {
		return true
	}
	return anyWildcardMatches(c.spec.Namespaces, ns)
}

func (c *criteria) namespaceExcluded(s subject) bool {
	ns := s.namespaceName()
	return ns != "" && anyWildcardMatches(c.spec.ExcludedNamespaces, ns)
}

func (c *criteria) labelsMatch(s subject) bool {
	return c.labelSelector == nil || c.labelSelector.Matches(s.labels)
}

func (c *criteria) nameMatches(s subject) bool {
	if c.spec.Name == "" {
		return true
	}
	return c.spec.Name.matches(s.name) || c.spec.Name.matchesGenerateName(s.generateName)
}

func (c *criteria) namespaceSelectorMatches(s subject, ns *corev1.Namespace) (bool, error) {
	switch {
	case c.namespaceSelector == nil:
		return true, nil
	case s.isNamespace():
		return c.namespaceSelector.Matches(s.labels), nil
	case s.namespace == "":
		return true, nil // cluster-scoped: no namespace to select on
	case ns == nil:
		return false, fmt.Errorf("namespaceSelector needs Namespace %q: set Request.NamespaceObject or feed Namespaces through AddData", s.namespace)
	default:
		return c.namespaceSelector.Matches(labels.Set(ns.Labels)), nil
	}
}

// wildcard is a name that may start and/or end with "*": "kube-*" matches
// "kube-system", "*-system" matches "gatekeeper-system", "*sys*" matches both.
type wildcard string

func (w wildcard) matches(candidate string) bool {
	s := string(w)
	prefixGlob, suffixGlob := strings.HasSuffix(s, "*"), strings.HasPrefix(s, "*")
	core := strings.TrimSuffix(strings.TrimPrefix(s, "*"), "*")
	switch {
	case prefixGlob && suffixGlob:
		return strings.Contains(candidate, core)
	case prefixGlob:
		return strings.HasPrefix(candidate, core)
	case suffixGlob:
		return strings.HasSuffix(candidate, core)
	default:
		return s == candidate
	}
}

// matchesGenerateName lets "web-*" select objects created with
// generateName "web-", whose final name the API server has not chosen yet.
// Only globs open at the end can match a prefix.
func (w wildcard) matchesGenerateName(generateName string) bool {
	if generateName == "" || !strings.HasSuffix(string(w), "*") {
		return false
	}
	return w.matches(generateName)
}

func anyWildcardMatches(ws []wildcard, candidate string) bool {
	for _, w := range ws {
		if w.matches(candidate) {
			return true
		}
	}
	return false
}
