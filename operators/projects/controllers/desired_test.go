package controllers

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Fixtures and helpers for the tests of desired.go.

const testProjectUID = types.UID("0b6f3c1e-7a4e-4d55-9d3c-5f1f2d1c0a11")

func testProject(name string, mutate ...func(*tenancyv1.Project)) *tenancyv1.Project {
	p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name, UID: testProjectUID}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func testTier(name string, mutate ...func(*tenancyv1.ProjectTier)) *tenancyv1.ProjectTier {
	t := &tenancyv1.ProjectTier{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1}}
	for _, m := range mutate {
		m(t)
	}
	return t
}

func user(name string) tenancyv1.Subject {
	return tenancyv1.Subject{Kind: tenancyv1.UserSubject, Name: name}
}

func group(name string) tenancyv1.Subject {
	return tenancyv1.Subject{Kind: tenancyv1.GroupSubject, Name: name}
}

func rbacUser(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func rbacGroup(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func truePtr() *bool { b := true; return &b }

// wantOwnerRefs is the controller reference every managed object carries.
func wantOwnerRefs(p *tenancyv1.Project) []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion:         "tenancy.atrium.dev/v1alpha1",
		Kind:               "Project",
		Name:               p.Name,
		UID:                p.UID,
		Controller:         truePtr(),
		BlockOwnerDeletion: truePtr(),
	}}
}

// asTyped turns an apply configuration into the typed object the API server
// would see, by way of its JSON, so tests can compare whole objects.
func asTyped(t *testing.T, ac any, into any) {
	t.Helper()
	raw, err := json.Marshal(ac)
	if err != nil {
		t.Fatalf("marshal apply configuration: %v", err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
}

func mustJSON(v any) string {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(raw)
}

func assertSemanticEqual(t *testing.T, got, want any) {
	t.Helper()
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("object mismatch\n got: %s\nwant: %s", mustJSON(got), mustJSON(want))
	}
}

func TestRBACSubjects(t *testing.T) {
	tests := []struct {
		name string
		in   []tenancyv1.Subject
		want []rbacv1.Subject
	}{
		{name: "nil", in: nil, want: []rbacv1.Subject{}},
		{name: "empty", in: []tenancyv1.Subject{}, want: []rbacv1.Subject{}},
		{
			name: "empty kind defaults to User",
			in:   []tenancyv1.Subject{{Name: "alice"}},
			want: []rbacv1.Subject{rbacUser("alice")},
		},
		{
			name: "group keeps its kind",
			in:   []tenancyv1.Subject{group("web-team")},
			want: []rbacv1.Subject{rbacGroup("web-team")},
		},
		{
			name: "exact duplicate dropped",
			in:   []tenancyv1.Subject{user("alice"), user("alice")},
			want: []rbacv1.Subject{rbacUser("alice")},
		},
		{
			name: "defaulted kind is a duplicate of explicit User",
			in:   []tenancyv1.Subject{{Name: "alice"}, user("alice"), {Name: "alice"}},
			want: []rbacv1.Subject{rbacUser("alice")},
		},
		{
			name: "same name with different kinds are distinct",
			in:   []tenancyv1.Subject{user("ops"), group("ops")},
			want: []rbacv1.Subject{rbacUser("ops"), rbacGroup("ops")},
		},
		{
			name: "first-seen order kept",
			in:   []tenancyv1.Subject{user("zoe"), group("admins"), user("bob"), user("zoe"), group("admins"), user("alice")},
			want: []rbacv1.Subject{rbacUser("zoe"), rbacGroup("admins"), rbacUser("bob"), rbacUser("alice")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.in)
			got := rbacSubjects(tt.in)
			if got == nil {
				t.Fatalf("rbacSubjects returned nil, want a non-nil slice")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rbacSubjects(%v)\n got: %v\nwant: %v", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(tt.in, before) {
				t.Errorf("input was modified: %v, was %v", tt.in, before)
			}
		})
	}
}

func TestRoleBindings(t *testing.T) {
	tests := []struct {
		name                    string
		spec                    tenancyv1.ProjectSpec
		admins, members, viewer []rbacv1.Subject
	}{
		{
			name:    "nothing asked for",
			spec:    tenancyv1.ProjectSpec{},
			admins:  []rbacv1.Subject{},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name:    "owner only",
			spec:    tenancyv1.ProjectSpec{Owner: "alice"},
			admins:  []rbacv1.Subject{rbacUser("alice")},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name:    "owner is the first admin",
			spec:    tenancyv1.ProjectSpec{Owner: "alice", Admins: []tenancyv1.Subject{user("bob"), group("leads")}},
			admins:  []rbacv1.Subject{rbacUser("alice"), rbacUser("bob"), rbacGroup("leads")},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name:    "owner listed again as admin is dropped",
			spec:    tenancyv1.ProjectSpec{Owner: "alice", Admins: []tenancyv1.Subject{user("bob"), user("alice")}},
			admins:  []rbacv1.Subject{rbacUser("alice"), rbacUser("bob")},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name:    "owner listed again with defaulted kind is dropped",
			spec:    tenancyv1.ProjectSpec{Owner: "alice", Admins: []tenancyv1.Subject{{Name: "alice"}}},
			admins:  []rbacv1.Subject{rbacUser("alice")},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name:    "group named like the owner is kept",
			spec:    tenancyv1.ProjectSpec{Owner: "alice", Admins: []tenancyv1.Subject{group("alice")}},
			admins:  []rbacv1.Subject{rbacUser("alice"), rbacGroup("alice")},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name:    "admins without owner",
			spec:    tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{user("bob")}},
			admins:  []rbacv1.Subject{rbacUser("bob")},
			members: []rbacv1.Subject{},
			viewer:  []rbacv1.Subject{},
		},
		{
			name: "members and viewers, duplicates dropped per binding",
			spec: tenancyv1.ProjectSpec{
				Owner:   "alice",
				Members: []tenancyv1.Subject{user("carol"), {Name: "carol"}, group("devs")},
				Viewers: []tenancyv1.Subject{group("auditors"), user("dave"), group("auditors")},
			},
			admins:  []rbacv1.Subject{rbacUser("alice")},
			members: []rbacv1.Subject{rbacUser("carol"), rbacGroup("devs")},
			viewer:  []rbacv1.Subject{rbacGroup("auditors"), rbacUser("dave")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo", func(p *tenancyv1.Project) { p.Spec = tt.spec })
			adminsBefore := slices.Clone(p.Spec.Admins)
			got := roleBindings(p)
			want := []roleBinding{
				{Name: "atrium-admins", Role: "admin", Subjects: tt.admins},
				{Name: "atrium-members", Role: "edit", Subjects: tt.members},
				{Name: "atrium-viewers", Role: "view", Subjects: tt.viewer},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("roleBindings\n got: %+v\nwant: %+v", got, want)
			}
			if !reflect.DeepEqual(p.Spec.Admins, adminsBefore) {
				t.Errorf("spec.admins was modified: %v, was %v", p.Spec.Admins, adminsBefore)
			}
		})
	}
}

func TestProjectAccess(t *testing.T) {
	tests := []struct {
		name                         string
		spec                         tenancyv1.ProjectSpec
		editors, readers, recipients []rbacv1.Subject
	}{
		{
			name:    "empty",
			spec:    tenancyv1.ProjectSpec{},
			editors: []rbacv1.Subject{},
			readers: []rbacv1.Subject{},
		},
		{
			name:    "owner edits",
			spec:    tenancyv1.ProjectSpec{Owner: "alice"},
			editors: []rbacv1.Subject{rbacUser("alice")},
			readers: []rbacv1.Subject{},
		},
		{
			name: "owner and admins edit, members then viewers read",
			spec: tenancyv1.ProjectSpec{
				Owner:   "alice",
				Admins:  []tenancyv1.Subject{user("bob")},
				Members: []tenancyv1.Subject{group("devs"), {Name: "carol"}},
				Viewers: []tenancyv1.Subject{user("dave")},
			},
			editors: []rbacv1.Subject{rbacUser("alice"), rbacUser("bob")},
			readers: []rbacv1.Subject{rbacGroup("devs"), rbacUser("carol"), rbacUser("dave")},
		},
		{
			name: "a member who is also a viewer reads once",
			spec: tenancyv1.ProjectSpec{
				Members: []tenancyv1.Subject{user("erin")},
				Viewers: []tenancyv1.Subject{user("erin"), user("frank")},
			},
			editors: []rbacv1.Subject{},
			readers: []rbacv1.Subject{rbacUser("erin"), rbacUser("frank")},
		},
		{
			name:    "viewers only",
			spec:    tenancyv1.ProjectSpec{Viewers: []tenancyv1.Subject{group("auditors")}},
			editors: []rbacv1.Subject{},
			readers: []rbacv1.Subject{rbacGroup("auditors")},
		},
		{
			name:       "the user it is offered to may accept, nothing more",
			spec:       tenancyv1.ProjectSpec{Owner: "alice", HandOverTo: "bob"},
			editors:    []rbacv1.Subject{rbacUser("alice")},
			readers:    []rbacv1.Subject{},
			recipients: []rbacv1.Subject{rbacUser("bob")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo", func(p *tenancyv1.Project) { p.Spec = tt.spec })
			access := projectAccess(p)
			editors, readers, recipients := access["edit"], access["view"], access["accept"]
			if len(access) != len(projectRoleAccesses) {
				t.Errorf("accesses %v, want one per projectRoleAccesses %v", access, projectRoleAccesses)
			}
			if len(recipients) != len(tt.recipients) || (len(recipients) > 0 && !reflect.DeepEqual(recipients, tt.recipients)) {
				t.Errorf("recipients\n got: %v\nwant: %v", recipients, tt.recipients)
			}
			if len(editors) != len(tt.editors) || (len(editors) > 0 && !reflect.DeepEqual(editors, tt.editors)) {
				t.Errorf("editors\n got: %v\nwant: %v", editors, tt.editors)
			}
			if len(readers) != len(tt.readers) || (len(readers) > 0 && !reflect.DeepEqual(readers, tt.readers)) {
				t.Errorf("readers\n got: %v\nwant: %v", readers, tt.readers)
			}
		})
	}
}

func TestNamespaceApplyLabelsAndAnnotations(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	long64 := strings.Repeat("a", 64)
	tests := []struct {
		name            string
		spec            tenancyv1.ProjectSpec
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		{
			name: "bare project",
			spec: tenancyv1.ProjectSpec{},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
			},
		},
		{
			name: "tier label",
			spec: tenancyv1.ProjectSpec{Tier: "standard"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
				"tenancy.atrium.dev/tier":    "standard",
			},
		},
		{
			name: "plain user name becomes the owner label",
			spec: tenancyv1.ProjectSpec{Owner: "alice"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
				"tenancy.atrium.dev/owner":   "alice",
			},
			wantAnnotations: map[string]string{"openshift.io/requester": "alice"},
		},
		{
			name: "owner with dots, dashes and underscores is a valid label value",
			spec: tenancyv1.ProjectSpec{Owner: "Alice.Smith_2-x"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
				"tenancy.atrium.dev/owner":   "Alice.Smith_2-x",
			},
			wantAnnotations: map[string]string{"openshift.io/requester": "Alice.Smith_2-x"},
		},
		{
			name: "63-character owner is a valid label value",
			spec: tenancyv1.ProjectSpec{Owner: long63},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
				"tenancy.atrium.dev/owner":   long63,
			},
			wantAnnotations: map[string]string{"openshift.io/requester": long63},
		},
		{
			name: "64-character owner gets no label but is the requester",
			spec: tenancyv1.ProjectSpec{Owner: long64},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
			},
			wantAnnotations: map[string]string{"openshift.io/requester": long64},
		},
		{
			name: "service account owner (colons) gets no label",
			spec: tenancyv1.ProjectSpec{Owner: "system:serviceaccount:x:y"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
			},
			wantAnnotations: map[string]string{"openshift.io/requester": "system:serviceaccount:x:y"},
		},
		{
			name: "e-mail owner (@) gets no label",
			spec: tenancyv1.ProjectSpec{Owner: "a@b.c"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
			},
			wantAnnotations: map[string]string{"openshift.io/requester": "a@b.c"},
		},
		{
			name: "owner starting with a dash gets no label",
			spec: tenancyv1.ProjectSpec{Owner: "-alice"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
			},
			wantAnnotations: map[string]string{"openshift.io/requester": "-alice"},
		},
		{
			name: "display name and description",
			spec: tenancyv1.ProjectSpec{DisplayName: "Demo Shop", Description: "The shop's staging area"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
			},
			wantAnnotations: map[string]string{
				"openshift.io/display-name": "Demo Shop",
				"openshift.io/description":  "The shop's staging area",
			},
		},
		{
			name: "everything",
			spec: tenancyv1.ProjectSpec{Owner: "alice", Tier: "gold", DisplayName: "Demo", Description: "d"},
			wantLabels: map[string]string{
				"tenancy.atrium.dev/project": "demo",
				"tenancy.atrium.dev/tenant":  "true",
				"tenancy.atrium.dev/tier":    "gold",
				"tenancy.atrium.dev/owner":   "alice",
			},
			wantAnnotations: map[string]string{
				"openshift.io/display-name": "Demo",
				"openshift.io/description":  "d",
				"openshift.io/requester":    "alice",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo", func(p *tenancyv1.Project) { p.Spec = tt.spec })
			ac := namespaceApply(p)
			if !reflect.DeepEqual(ac.Labels, tt.wantLabels) {
				t.Errorf("labels\n got: %v\nwant: %v", ac.Labels, tt.wantLabels)
			}
			if len(tt.wantAnnotations) == 0 {
				if ac.Annotations != nil {
					t.Errorf("annotations = %v, want none (nil, so the operator claims no annotation field)", ac.Annotations)
				}
			} else if !reflect.DeepEqual(ac.Annotations, tt.wantAnnotations) {
				t.Errorf("annotations\n got: %v\nwant: %v", ac.Annotations, tt.wantAnnotations)
			}
		})
	}
}

func TestNamespaceApplyObject(t *testing.T) {
	p := testProject("shop", func(p *tenancyv1.Project) {
		p.Spec = tenancyv1.ProjectSpec{Owner: "alice", Tier: "standard", DisplayName: "Shop"}
	})
	var got corev1.Namespace
	asTyped(t, namespaceApply(p), &got)
	want := corev1.Namespace{
		TypeMeta: metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "shop",
			Labels: map[string]string{
				"tenancy.atrium.dev/project": "shop",
				"tenancy.atrium.dev/tenant":  "true",
				"tenancy.atrium.dev/tier":    "standard",
				"tenancy.atrium.dev/owner":   "alice",
			},
			Annotations: map[string]string{
				"openshift.io/display-name": "Shop",
				"openshift.io/requester":    "alice",
			},
			OwnerReferences: wantOwnerRefs(p),
		},
	}
	assertSemanticEqual(t, got, want)
}

func TestQuotaApply(t *testing.T) {
	p := testProject("demo")
	fullQuota := func() *corev1.ResourceQuotaSpec {
		return &corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{
				corev1.ResourceRequestsCPU:    resource.MustParse("4"),
				corev1.ResourceRequestsMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods:           resource.MustParse("20"),
			},
			Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort},
			ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
				ScopeName: corev1.ResourceQuotaScopePriorityClass,
				Operator:  corev1.ScopeSelectorOpIn,
				Values:    []string{"low", "medium"},
			}}},
		}
	}
	tests := []struct {
		name string
		tier *tenancyv1.ProjectTier
		want *corev1.ResourceQuotaSpec // nil: no quota expected
	}{
		{name: "no tier", tier: nil},
		{name: "tier without quota", tier: testTier("free")},
		{
			name: "hard limits only",
			tier: testTier("standard", func(t *tenancyv1.ProjectTier) {
				t.Spec.ResourceQuota = &corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}
			}),
			want: &corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
		},
		{
			name: "hard, scopes and scope selector",
			tier: testTier("gold", func(t *tenancyv1.ProjectTier) { t.Spec.ResourceQuota = fullQuota() }),
			want: fullQuota(),
		},
		{
			name: "empty quota spec gives an empty quota",
			tier: testTier("odd", func(t *tenancyv1.ProjectTier) { t.Spec.ResourceQuota = &corev1.ResourceQuotaSpec{} }),
			want: &corev1.ResourceQuotaSpec{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac := quotaApply(p, tt.tier)
			if tt.want == nil {
				if ac != nil {
					t.Fatalf("quotaApply = %s, want nil", mustJSON(ac))
				}
				return
			}
			if ac == nil {
				t.Fatal("quotaApply = nil, want a ResourceQuota")
			}
			var got corev1.ResourceQuota
			asTyped(t, ac, &got)
			want := corev1.ResourceQuota{
				TypeMeta: metav1.TypeMeta{Kind: "ResourceQuota", APIVersion: "v1"},
				ObjectMeta: metav1.ObjectMeta{
					Name:            "atrium-quota",
					Namespace:       "demo",
					Labels:          map[string]string{"tenancy.atrium.dev/project": "demo"},
					OwnerReferences: wantOwnerRefs(p),
				},
				Spec: *tt.want,
			}
			assertSemanticEqual(t, got, want)
		})
	}

	t.Run("later tier edits do not reach a built quota", func(t *testing.T) {
		tier := testTier("gold", func(t *tenancyv1.ProjectTier) { t.Spec.ResourceQuota = fullQuota() })
		ac := quotaApply(p, tier)
		tier.Spec.ResourceQuota.Hard[corev1.ResourcePods] = resource.MustParse("999")
		tier.Spec.ResourceQuota.Hard[corev1.ResourceServices] = resource.MustParse("1")
		hard := *ac.Spec.Hard
		if q := hard[corev1.ResourcePods]; q.Cmp(resource.MustParse("20")) != 0 {
			t.Errorf("pods = %s, want 20", q.String())
		}
		if _, ok := hard[corev1.ResourceServices]; ok {
			t.Errorf("services appeared in the built quota: %v", hard)
		}
	})
}

func TestStorageQuotaApply(t *testing.T) {
	p := testProject("demo")
	storage := func(st tenancyv1.TierStorage) *tenancyv1.ProjectTier {
		return testTier("disks", func(t *tenancyv1.ProjectTier) { t.Spec.Storage = &st })
	}
	gib := "atrium-openstack.storageclass.storage.k8s.io/requests.storage"
	claims := "atrium-openstack.storageclass.storage.k8s.io/persistentvolumeclaims"
	tests := []struct {
		name string
		tier *tenancyv1.ProjectTier
		want map[string]string // nil: no quota expected
	}{
		{name: "no tier", tier: nil},
		{name: "tier without storage", tier: testTier("free")},
		{name: "storage without a quota", tier: storage(tenancyv1.TierStorage{MaxVolumeGiB: ptr.To[int32](100), AllowAdoption: true})},
		{name: "gigabytes only", tier: storage(tenancyv1.TierStorage{Gigabytes: ptr.To[int32](200)}), want: map[string]string{gib: "200Gi"}},
		{name: "volumes only", tier: storage(tenancyv1.TierStorage{Volumes: ptr.To[int32](10)}), want: map[string]string{claims: "10"}},
		{name: "both", tier: storage(tenancyv1.TierStorage{Gigabytes: ptr.To[int32](10), Volumes: ptr.To[int32](2)}), want: map[string]string{gib: "10Gi", claims: "2"}},
		{name: "zero is a limit, not unset", tier: storage(tenancyv1.TierStorage{Gigabytes: ptr.To[int32](0), Volumes: ptr.To[int32](0)}), want: map[string]string{gib: "0", claims: "0"}},
		{name: "the tier's resourceQuota is not copied", tier: testTier("both", func(t *tenancyv1.ProjectTier) {
			t.Spec.ResourceQuota = &corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
				Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}}
			t.Spec.Storage = &tenancyv1.TierStorage{Volumes: ptr.To[int32](3)}
		}), want: map[string]string{claims: "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac := storageQuotaApply(p, tt.tier)
			if tt.want == nil {
				if ac != nil {
					t.Fatalf("storageQuotaApply = %s, want nil", mustJSON(ac))
				}
				return
			}
			if ac == nil {
				t.Fatal("storageQuotaApply = nil, want a ResourceQuota")
			}
			var got corev1.ResourceQuota
			asTyped(t, ac, &got)
			hard := corev1.ResourceList{}
			for k, v := range tt.want {
				hard[corev1.ResourceName(k)] = resource.MustParse(v)
			}
			want := corev1.ResourceQuota{
				TypeMeta: metav1.TypeMeta{Kind: "ResourceQuota", APIVersion: "v1"},
				ObjectMeta: metav1.ObjectMeta{
					Name:            "atrium-storage",
					Namespace:       "demo",
					Labels:          map[string]string{"tenancy.atrium.dev/project": "demo"},
					OwnerReferences: wantOwnerRefs(p),
				},
				Spec: corev1.ResourceQuotaSpec{Hard: hard},
			}
			assertSemanticEqual(t, got, want)
			// What is sent is what the API server stores and returns, so
			// the no-op skip sees the same content on every pass.
			for k, v := range tt.want {
				if q := got.Spec.Hard[corev1.ResourceName(k)]; q.String() != v {
					t.Errorf("%s sent as %q, want %q", k, q.String(), v)
				}
			}
		})
	}
}

func TestLimitRangeApply(t *testing.T) {
	p := testProject("demo")
	twoItems := func() *corev1.LimitRangeSpec {
		return &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
			{
				Type:           corev1.LimitTypeContainer,
				Max:            corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Min:            corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
				Default:        corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
				DefaultRequest: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				MaxLimitRequestRatio: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("4"),
				},
			},
			{
				Type: corev1.LimitTypePersistentVolumeClaim,
				Max:  corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("50Gi")},
			},
		}}
	}
	tests := []struct {
		name string
		tier *tenancyv1.ProjectTier
		want *corev1.LimitRangeSpec // nil: no LimitRange expected
	}{
		{name: "no tier", tier: nil},
		{name: "tier without limits", tier: testTier("free")},
		{
			name: "all lists of every item copied in order",
			tier: testTier("standard", func(t *tenancyv1.ProjectTier) { t.Spec.LimitRange = twoItems() }),
			want: twoItems(),
		},
		{
			name: "item with type only",
			tier: testTier("bare", func(t *tenancyv1.ProjectTier) {
				t.Spec.LimitRange = &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod}}}
			}),
			want: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac := limitRangeApply(p, tt.tier)
			if tt.want == nil {
				if ac != nil {
					t.Fatalf("limitRangeApply = %s, want nil", mustJSON(ac))
				}
				return
			}
			if ac == nil {
				t.Fatal("limitRangeApply = nil, want a LimitRange")
			}
			var got corev1.LimitRange
			asTyped(t, ac, &got)
			want := corev1.LimitRange{
				TypeMeta: metav1.TypeMeta{Kind: "LimitRange", APIVersion: "v1"},
				ObjectMeta: metav1.ObjectMeta{
					Name:            "atrium-limits",
					Namespace:       "demo",
					Labels:          map[string]string{"tenancy.atrium.dev/project": "demo"},
					OwnerReferences: wantOwnerRefs(p),
				},
				Spec: *tt.want,
			}
			assertSemanticEqual(t, got, want)
			// Lists the tier leaves out stay out of the applied object, so
			// the operator does not claim them.
			for i, item := range ac.Spec.Limits {
				src := tt.tier.Spec.LimitRange.Limits[i]
				if (item.Max == nil) != (len(src.Max) == 0) || (item.Min == nil) != (len(src.Min) == 0) ||
					(item.Default == nil) != (len(src.Default) == 0) || (item.DefaultRequest == nil) != (len(src.DefaultRequest) == 0) ||
					(item.MaxLimitRequestRatio == nil) != (len(src.MaxLimitRequestRatio) == 0) {
					t.Errorf("limits[%d]: set lists do not match the tier: %s", i, mustJSON(item))
				}
			}
		})
	}

	t.Run("later tier edits do not reach a built LimitRange", func(t *testing.T) {
		tier := testTier("standard", func(t *tenancyv1.ProjectTier) { t.Spec.LimitRange = twoItems() })
		ac := limitRangeApply(p, tier)
		tier.Spec.LimitRange.Limits[0].Max[corev1.ResourceCPU] = resource.MustParse("64")
		max := *ac.Spec.Limits[0].Max
		if q := max[corev1.ResourceCPU]; q.Cmp(resource.MustParse("2")) != 0 {
			t.Errorf("max cpu = %s, want 2", q.String())
		}
	})
}

func TestIsolated(t *testing.T) {
	tests := []struct {
		isolation tenancyv1.NetworkIsolation
		want      bool
	}{
		{"", true},
		{tenancyv1.IsolationEnabled, true},
		{tenancyv1.IsolationDisabled, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.isolation)+"_", func(t *testing.T) {
			p := testProject("demo", func(p *tenancyv1.Project) { p.Spec.NetworkIsolation = tt.isolation })
			if got := isolated(p); got != tt.want {
				t.Errorf("isolated(%q) = %v, want %v", tt.isolation, got, tt.want)
			}
		})
	}
}

func TestNetworkPolicyApply(t *testing.T) {
	sameNamespace := networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{
		{PodSelector: &metav1.LabelSelector{}},
	}}
	// Every namespace peer leaves tenant namespaces out, whatever the tier
	// says: a tenant can name its Project like a platform namespace.
	notTenant := metav1.LabelSelectorRequirement{Key: tenancyv1.TenantNamespaceLabel, Operator: metav1.LabelSelectorOpDoesNotExist}
	fromNamespaces := func(names ...string) networkingv1.NetworkPolicyIngressRule {
		return networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key:      "kubernetes.io/metadata.name",
				Operator: metav1.LabelSelectorOpIn,
				Values:   names,
			}, notTenant}},
		}}}
	}
	fromSelector := func(sel metav1.LabelSelector) networkingv1.NetworkPolicyIngressRule {
		sel.MatchExpressions = append(slices.Clone(sel.MatchExpressions), notTenant)
		return networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &sel}}}
	}
	platformSelector := metav1.LabelSelector{
		MatchLabels: map[string]string{"platform.atrium.dev/ingress": "true"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "team", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"tenant", "guest"},
		}},
	}

	tests := []struct {
		name      string
		isolation tenancyv1.NetworkIsolation
		tier      *tenancyv1.ProjectTier
		wantNil   bool
		rules     []networkingv1.NetworkPolicyIngressRule
	}{
		{
			name:      "disabled: no policy",
			isolation: tenancyv1.IsolationDisabled,
			tier: testTier("standard", func(t *tenancyv1.ProjectTier) {
				t.Spec.NetworkPolicy.AllowFromNamespaces = []string{"ingress"}
			}),
			wantNil: true,
		},
		{name: "disabled without tier: no policy", isolation: tenancyv1.IsolationDisabled, wantNil: true},
		{
			name:      "default isolation without tier admits the namespace itself",
			isolation: "",
			rules:     []networkingv1.NetworkPolicyIngressRule{sameNamespace},
		},
		{
			name:      "tier without sources admits the namespace itself",
			isolation: tenancyv1.IsolationEnabled,
			tier:      testTier("free"),
			rules:     []networkingv1.NetworkPolicyIngressRule{sameNamespace},
		},
		{
			name:      "allowed namespaces are sorted into one rule",
			isolation: tenancyv1.IsolationEnabled,
			tier: testTier("standard", func(t *tenancyv1.ProjectTier) {
				t.Spec.NetworkPolicy.AllowFromNamespaces = []string{"openshift-monitoring", "ingress-nginx", "atrium-system"}
			}),
			rules: []networkingv1.NetworkPolicyIngressRule{
				sameNamespace,
				fromNamespaces("atrium-system", "ingress-nginx", "openshift-monitoring"),
			},
		},
		{
			name:      "namespace selector is its own rule",
			isolation: tenancyv1.IsolationEnabled,
			tier: testTier("standard", func(t *tenancyv1.ProjectTier) {
				sel := *platformSelector.DeepCopy()
				t.Spec.NetworkPolicy.AllowFromNamespaceSelector = &sel
			}),
			rules: []networkingv1.NetworkPolicyIngressRule{sameNamespace, fromSelector(platformSelector)},
		},
		{
			name:      "both sources: namespaces rule, then selector rule",
			isolation: "",
			tier: testTier("standard", func(t *tenancyv1.ProjectTier) {
				t.Spec.NetworkPolicy.AllowFromNamespaces = []string{"monitoring", "ingress"}
				t.Spec.NetworkPolicy.AllowFromNamespaceSelector = platformSelector.DeepCopy()
			}),
			rules: []networkingv1.NetworkPolicyIngressRule{
				sameNamespace,
				fromNamespaces("ingress", "monitoring"),
				fromSelector(platformSelector),
			},
		},
		{
			name:      "empty selector matches every namespace but tenants'",
			isolation: tenancyv1.IsolationEnabled,
			tier: testTier("open", func(t *tenancyv1.ProjectTier) {
				t.Spec.NetworkPolicy.AllowFromNamespaceSelector = &metav1.LabelSelector{}
			}),
			rules: []networkingv1.NetworkPolicyIngressRule{sameNamespace, fromSelector(metav1.LabelSelector{})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo", func(p *tenancyv1.Project) { p.Spec.NetworkIsolation = tt.isolation })
			var before *tenancyv1.ProjectTier
			if tt.tier != nil {
				before = tt.tier.DeepCopy()
			}
			ac := networkPolicyApply(p, tt.tier)
			if tt.wantNil {
				if ac != nil {
					t.Fatalf("networkPolicyApply = %s, want nil", mustJSON(ac))
				}
				return
			}
			if ac == nil {
				t.Fatal("networkPolicyApply = nil, want a NetworkPolicy")
			}
			var got networkingv1.NetworkPolicy
			asTyped(t, ac, &got)
			want := networkingv1.NetworkPolicy{
				TypeMeta: metav1.TypeMeta{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1"},
				ObjectMeta: metav1.ObjectMeta{
					Name:            "atrium-isolation",
					Namespace:       "demo",
					Labels:          map[string]string{"tenancy.atrium.dev/project": "demo"},
					OwnerReferences: wantOwnerRefs(p),
				},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress:     tt.rules,
				},
			}
			assertSemanticEqual(t, got, want)
			if tt.tier != nil && !reflect.DeepEqual(tt.tier, before) {
				t.Errorf("tier was modified\n got: %s\nwant: %s", mustJSON(tt.tier), mustJSON(before))
			}
		})
	}
}

func TestProjectClusterRoles(t *testing.T) {
	p := testProject("demo")
	roles := projectClusterRoles(p)
	want := map[string][]string{
		// kubectl get/-w and the wait of kubectl delete list and watch by
		// name; owner and admins also change and delete the Project.
		"atrium:project:demo:edit": {"get", "list", "watch", "update", "patch", "delete"},
		"atrium:project:demo:view": {"get", "list", "watch"},
	}
	if len(roles) != len(want) {
		t.Fatalf("%d roles, want %d", len(roles), len(want))
	}
	for i, r := range roles {
		name := *r.Name
		if name != projectRoleName("demo", projectRoleAccesses[i]) {
			t.Errorf("role %d is %s, want the %s role", i, name, projectRoleAccesses[i])
		}
		verbs, ok := want[name]
		if !ok {
			t.Errorf("unexpected role %s", name)
			continue
		}
		if r.Labels[tenancyv1.ProjectLabel] != "demo" {
			t.Errorf("%s labels = %v", name, r.Labels)
		}
		if len(r.Rules) != 1 {
			t.Fatalf("%s has %d rules, want 1", name, len(r.Rules))
		}
		rule := r.Rules[0]
		if !slices.Equal(rule.APIGroups, []string{tenancyv1.GroupVersion.Group}) || !slices.Equal(rule.Resources, []string{"projects"}) {
			t.Errorf("%s rule is about %v %v, want the Project kind only", name, rule.APIGroups, rule.Resources)
		}
		// Limited to the one name: a list or watch without the name's field
		// selector does not match, so no other Project is seen.
		if !slices.Equal(rule.ResourceNames, []string{"demo"}) {
			t.Errorf("%s resourceNames = %v, want [demo]", name, rule.ResourceNames)
		}
		if !slices.Equal(rule.Verbs, verbs) {
			t.Errorf("%s verbs = %v, want %v", name, rule.Verbs, verbs)
		}
	}
}
