package config

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
)

// buildAt builds a kustomization of config/ and indexes its objects.
func buildAt(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", path, err)
	}
	return index(t, m)
}

// memberIdentities builds one member's identities at the hub from
// config/hub/member, as an admin mints them.
func memberIdentities(t *testing.T, cluster string) map[string]map[string]any {
	t.Helper()
	m, err := fleet.BuildMember(cluster)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, kind := range []string{"ServiceAccount", "ClusterRoleBinding", "RoleBinding"} {
		for _, u := range m.Of(kind) {
			out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.Object
		}
	}
	return out
}

func TestHubBuildHoldsTogether(t *testing.T) {
	objs := buildAt(t, "hub")
	for _, want := range []string{
		"Namespace//" + fleet.HubNamespace,
		"CustomResourceDefinition//hostnameclaims.fleet.atrium.dev",
		"CustomResourceDefinition//memberclusters.fleet.atrium.dev",
		"ClusterRole//atrium-hub-hostnames",
		"ClusterRole//atrium-hub-dns",
		"ValidatingAdmissionPolicy//atrium-fleet-identities",
		"ValidatingAdmissionPolicy//atrium-hub-hostnames",
		"ValidatingAdmissionPolicy//atrium-hub-dns",
	} {
		if objs[want] == nil {
			t.Errorf("missing %s", want)
		}
	}
	for key := range objs {
		if strings.HasPrefix(key, "Deployment/") && !slices.ContainsFunc(components.AtHub, func(c components.Component) bool { return key == "Deployment/"+fleet.Namespace+"/"+c.Deployment }) {
			t.Errorf("%s: the hub runs its own components only (internal/components.AtHub)", key)
		}
		if strings.Contains(key, "tenancy.atrium.dev") {
			t.Errorf("%s: the hub serves no member API", key)
		}
	}
	for _, c := range components.AtHub {
		if objs["Deployment/"+fleet.Namespace+"/"+c.Deployment] == nil {
			t.Errorf("config/hub ships no Deployment %s", c.Deployment)
		}
	}
	checkPolicies(t, "config/hub", objs)
}

func TestMembersServeNoFleetAPI(t *testing.T) {
	objs := index(t, build(t))
	for key, obj := range objs {
		if strings.HasPrefix(key, "CustomResourceDefinition/") && strings.HasSuffix(key, ".fleet.atrium.dev") {
			t.Errorf("%s: the fleet API is the hub's alone", key)
		}
		for _, r := range rules(t, obj) {
			if slices.Contains(r.APIGroups, "fleet.atrium.dev") {
				t.Errorf("%s grants %v on %v: what components do at the hub is granted there (config/hub), not on the member", key, r.Verbs, r.Resources)
			}
		}
	}
	checkPolicies(t, "config/default", objs)
}

// TestMemberIdentitiesMatchTheHubPolicies: the template names a member's
// identities as the hub's policies expect (<cluster>-hostnames and
// <cluster>-dns in atrium-fleet) and binds them to the hub roles.
func TestMemberIdentitiesMatchTheHubPolicies(t *testing.T) {
	hub := buildAt(t, "hub")
	ids := memberIdentities(t, "member-x")
	for sa, role := range map[string]string{components.Hostnames.Hub.Account("member-x"): "atrium-hub-hostnames", components.DNS.Hub.Account("member-x"): "atrium-hub-dns"} {
		if ids["ServiceAccount/"+fleet.HubNamespace+"/"+sa] == nil {
			t.Errorf("no ServiceAccount %s/%s in the member template's build", fleet.HubNamespace, sa)
		}
		crb := ids["ClusterRoleBinding//"+sa]
		if crb == nil {
			t.Errorf("no ClusterRoleBinding %s", sa)
			continue
		}
		if ref := crb["roleRef"].(map[string]any)["name"]; ref != role || hub["ClusterRole//"+role] == nil {
			t.Errorf("ClusterRoleBinding %s binds %v, want %s of config/hub", sa, ref, role)
		}
		subjects := crb["subjects"].([]any)
		if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != sa || subjects[0].(map[string]any)["namespace"] != fleet.HubNamespace {
			t.Errorf("ClusterRoleBinding %s binds %v", sa, subjects)
		}
	}
	// The policies derive the cluster from these names.
	prefix := "system:serviceaccount:" + fleet.HubNamespace + ":"
	for _, name := range []string{"atrium-fleet-identities", "atrium-hub-hostnames", "atrium-hub-dns"} {
		text := fmt.Sprint(hub["ValidatingAdmissionPolicy//"+name])
		if !strings.Contains(text, prefix) {
			t.Errorf("ValidatingAdmissionPolicy %s does not name the identities of %s", name, fleet.HubNamespace)
		}
	}
	for _, suffix := range []string{components.Hostnames.Hub.Account(""), components.DNS.Hub.Account("")} {
		if !strings.Contains(fmt.Sprint(hub["ValidatingAdmissionPolicy//atrium-fleet-identities"]), "'"+suffix+"'") {
			t.Errorf("atrium-fleet-identities does not know identities named <cluster>%s", suffix)
		}
	}
}

// usernameRE finds the ServiceAccount a policy's match condition names.
var usernameRE = regexp.MustCompile(`'system:serviceaccount:([a-z0-9-]+):([a-z0-9-]+)'`)

// checkPolicies: every policy fails closed and is bound, with Deny, by a
// binding of the same build; a policy that names a ServiceAccount names one
// of the build (the username is a string kustomize does not rewrite).
func checkPolicies(t *testing.T, build string, objs map[string]map[string]any) {
	t.Helper()
	bound := map[string]bool{}
	for key, obj := range objs {
		if !strings.HasPrefix(key, "ValidatingAdmissionPolicyBinding/") {
			continue
		}
		spec := obj["spec"].(map[string]any)
		name := spec["policyName"].(string)
		if objs["ValidatingAdmissionPolicy//"+name] == nil {
			t.Errorf("%s: %s binds policy %s, which is not in the build", build, key, name)
		}
		if fmt.Sprint(spec["validationActions"]) != "[Deny]" {
			t.Errorf("%s: %s: validationActions %v, want [Deny]", build, key, spec["validationActions"])
		}
		bound[name] = true
	}
	for key, obj := range objs {
		if !strings.HasPrefix(key, "ValidatingAdmissionPolicy/") {
			continue
		}
		name := obj["metadata"].(map[string]any)["name"].(string)
		spec := obj["spec"].(map[string]any)
		if spec["failurePolicy"] != "Fail" {
			t.Errorf("%s: %s: failurePolicy %v, want Fail", build, key, spec["failurePolicy"])
		}
		if !bound[name] {
			t.Errorf("%s: %s is bound by no ValidatingAdmissionPolicyBinding", build, key)
		}
		for _, m := range usernameRE.FindAllStringSubmatch(fmt.Sprint(spec["matchConditions"]), -1) {
			if objs["ServiceAccount/"+m[1]+"/"+m[2]] == nil {
				t.Errorf("%s: %s matches ServiceAccount %s/%s, which the build does not have", build, key, m[1], m[2])
			}
		}
	}
}

// hubOwn are the bindings of the hub's own components (config/hub's
// atrium-system), apart from the members' identities.
func hubOwn(hub map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for key, obj := range hub {
		if strings.Contains(fmt.Sprint(obj["subjects"]), "namespace:"+fleet.Namespace) {
			out[key] = obj
		}
	}
	return out
}

func rules(t *testing.T, obj map[string]any) []rbacv1.PolicyRule {
	t.Helper()
	kind, _ := obj["kind"].(string)
	if kind != "ClusterRole" && kind != "Role" {
		return nil
	}
	role := &rbacv1.ClusterRole{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

// componentRoles are the roles bound to a ServiceAccount in the bindings
// given, by "Kind/namespace/name" of the role, with their rules from objs.
func componentRoles(t *testing.T, bindings, objs map[string]map[string]any) map[string][]rbacv1.PolicyRule {
	t.Helper()
	out := map[string][]rbacv1.PolicyRule{}
	for key, obj := range bindings {
		kind := strings.SplitN(key, "/", 2)[0]
		if kind != "ClusterRoleBinding" && kind != "RoleBinding" {
			continue
		}
		subjects, _ := obj["subjects"].([]any)
		sa := slices.ContainsFunc(subjects, func(s any) bool { return s.(map[string]any)["kind"] == "ServiceAccount" })
		if !sa {
			continue
		}
		ref := obj["roleRef"].(map[string]any)
		ns := ""
		if ref["kind"] == "Role" {
			ns, _ = obj["metadata"].(map[string]any)["namespace"].(string)
		}
		roleKey := fmt.Sprintf("%s/%s/%s", ref["kind"], ns, ref["name"])
		role := objs[roleKey]
		if role == nil {
			t.Errorf("%s binds %s, which is not in the build", key, roleKey)
			continue
		}
		out[roleKey] = rules(t, role)
	}
	return out
}

// TestNoComponentHoldsLeasesClusterWide: leader election's Lease is in the
// component's own namespace; a ClusterRole granting leases would let it
// take any controller's, kube-system's among them.
func TestNoComponentHoldsLeasesClusterWide(t *testing.T) {
	objs := index(t, build(t))
	for role, rs := range componentRoles(t, objs, objs) {
		for _, r := range rs {
			if strings.HasPrefix(role, "ClusterRole/") && slices.Contains(r.Resources, "leases") {
				t.Errorf("%s grants %v on leases cluster-wide", role, r.Verbs)
			}
		}
	}
}

// securityDoc is the table of docs/security.md that lists what each
// component's identity may do.
const securityDoc = "../docs/security.md"

// docRow is one row of the table, reduced to what identifies a rule.
type docRow struct {
	line                             int
	role, group, resources, names    string
	verbs, narrowedBy, cluster, comp string
}

func (r docRow) key() string {
	return strings.Join([]string{r.role, r.group, r.resources, r.names, r.verbs}, " | ")
}

func ruleKey(role string, group string, r rbacv1.PolicyRule) string {
	kind, rest, _ := strings.Cut(role, "/")
	ns, name, _ := strings.Cut(rest, "/")
	who := kind + " " + name
	if ns != "" {
		who += " in " + ns
	}
	if group == "" {
		group = "core"
	}
	list := func(in []string) string {
		s := slices.Clone(in)
		slices.Sort(s)
		return strings.Join(s, ", ")
	}
	return strings.Join([]string{who, group, list(r.Resources), list(r.ResourceNames), list(r.Verbs)}, " | ")
}

// readSecurityTable reads the table whose header starts with
// "| Component | Cluster | Role |".
func readSecurityTable(t *testing.T) []docRow {
	t.Helper()
	f, err := os.Open(securityDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clean := func(s string) string {
		s = strings.TrimSpace(strings.ReplaceAll(s, "`", ""))
		if s == "—" {
			return ""
		}
		return s
	}
	sortList := func(s string) string {
		if s == "" {
			return ""
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		slices.Sort(parts)
		return strings.Join(parts, ", ")
	}
	var out []docRow
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "| Component | Cluster | Role |"):
			in = true
			continue
		case in && strings.HasPrefix(line, "|---"):
			continue
		case in && !strings.HasPrefix(line, "|"):
			in = false
		}
		if !in {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 9 {
			t.Fatalf("%s:%d: %d cells, want 9 (Component, Cluster, Role, API group, Resources, Names, Verbs, Why, Narrowed by)", securityDoc, n, len(cells))
		}
		out = append(out, docRow{
			line: n, comp: clean(cells[0]), cluster: clean(cells[1]), role: clean(cells[2]), group: clean(cells[3]),
			resources: sortList(clean(cells[4])), names: sortList(clean(cells[5])), verbs: sortList(clean(cells[6])),
			narrowedBy: clean(cells[8]),
		})
	}
	if len(out) == 0 {
		t.Fatalf("%s has no table of the components' rules", securityDoc)
	}
	return out
}

// TestSecurityDocListsEveryRule: docs/security.md has a row for every rule
// of every role a component's identity is bound to, on the member and at
// the hub, and no row for a rule that does not exist; the policies a row
// says narrow it exist.
func TestSecurityDocListsEveryRule(t *testing.T) {
	member := index(t, build(t))
	hub := buildAt(t, "hub")
	want := map[string]bool{}
	for _, set := range []struct{ bindings, objs map[string]map[string]any }{
		{member, member}, {memberIdentities(t, "member-x"), hub}, {hubOwn(hub), hub},
	} {
		for role, rs := range componentRoles(t, set.bindings, set.objs) {
			for _, r := range rs {
				for _, g := range r.APIGroups {
					want[ruleKey(role, g, r)] = true
				}
			}
		}
	}
	have := map[string]bool{}
	for _, row := range readSecurityTable(t) {
		k := row.key()
		have[k] = true
		if !want[k] {
			t.Errorf("%s:%d: %s is no rule of a component's role", securityDoc, row.line, k)
		}
		if row.cluster != "member" && row.cluster != "hub" {
			t.Errorf("%s:%d: cluster %q, want member or hub", securityDoc, row.line, row.cluster)
		}
		for _, p := range strings.Split(row.narrowedBy, ",") {
			p = strings.TrimSpace(p)
			if p == "" || strings.HasPrefix(p, "RBAC") {
				continue
			}
			if member["ValidatingAdmissionPolicy//"+p] == nil && hub["ValidatingAdmissionPolicy//"+p] == nil {
				t.Errorf("%s:%d: narrowed by %q, which is no shipped ValidatingAdmissionPolicy", securityDoc, row.line, p)
			}
		}
	}
	var missing []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		t.Errorf("%s has no row for %s", securityDoc, k)
	}
}

// TestReportIdentitiesMatchThePolicy: atrium-fleet-identities knows every
// component's hub identity with the entry it may write (the component's
// folder), and no identity ends in "-<another identity>", so that no
// cluster's identity can pass for another cluster's (cluster "x" with
// identity "a-b" would be cluster "x-a" with identity "b").
func TestReportIdentitiesMatchThePolicy(t *testing.T) {
	policy := fmt.Sprint(buildAt(t, "hub")["ValidatingAdmissionPolicy//atrium-fleet-identities"])
	for _, c := range components.All {
		if want := "'" + c.Hub.Identity + "': '" + c.Folder + "'"; !strings.Contains(policy, want) {
			t.Errorf("atrium-fleet-identities does not map identity %s to entry %s (%s)", c.Hub.Identity, c.Folder, want)
		}
		for _, o := range components.All {
			if o.Hub.Identity != c.Hub.Identity && strings.HasSuffix(c.Hub.Identity, "-"+o.Hub.Identity) {
				t.Errorf("identity %s ends in -%s: cluster names would be ambiguous", c.Hub.Identity, o.Hub.Identity)
			}
		}
	}
}
