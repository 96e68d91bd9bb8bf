package admission

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

func TestValidateName(t *testing.T) {
	const dnsRefusal = "cannot be a namespace name"
	tests := []struct {
		name     string
		project  string
		reserved []string
		// wantErr lists fragments the error must contain; nil means allowed.
		wantErr []string
	}{
		// Valid names.
		{name: "simple", project: "team-a", reserved: DefaultReserved},
		{name: "single letter", project: "a", reserved: DefaultReserved},
		{name: "single digit", project: "1", reserved: DefaultReserved},
		{name: "starts with digit", project: "1st-team", reserved: DefaultReserved},
		{name: "63 characters", project: strings.Repeat("a", 63), reserved: DefaultReserved},
		{name: "kube alone is not reserved", project: "kube", reserved: DefaultReserved},
		{name: "prefix without dash is not reserved", project: "kubeflow", reserved: DefaultReserved},
		{name: "defaults", project: "defaults", reserved: DefaultReserved},
		{name: "default as suffix", project: "my-default", reserved: DefaultReserved},
		{name: "openshiftish", project: "openshifty", reserved: DefaultReserved},
		{name: "reserved word inside", project: "my-kube-system", reserved: DefaultReserved},
		{name: "default allowed without reserved list", project: "default", reserved: nil},
		{name: "kube-system allowed with a custom list", project: "kube-system", reserved: []string{"platform-*"}},

		// Not DNS-1123 labels.
		{name: "empty", project: "", reserved: DefaultReserved, wantErr: []string{`Project name ""`, dnsRefusal}},
		{name: "upper case", project: "Team", reserved: DefaultReserved, wantErr: []string{`"Team"`, dnsRefusal, "lower-case letters"}},
		{name: "underscore", project: "team_a", reserved: DefaultReserved, wantErr: []string{`"team_a"`, dnsRefusal}},
		{name: "dot (valid cluster-scoped name, not a namespace)", project: "team.a", reserved: DefaultReserved, wantErr: []string{`"team.a"`, dnsRefusal}},
		{name: "leading dash", project: "-team", reserved: DefaultReserved, wantErr: []string{dnsRefusal}},
		{name: "trailing dash", project: "team-", reserved: DefaultReserved, wantErr: []string{dnsRefusal}},
		{name: "space", project: "team a", reserved: DefaultReserved, wantErr: []string{dnsRefusal}},
		{name: "64 characters", project: strings.Repeat("a", 64), reserved: DefaultReserved, wantErr: []string{dnsRefusal, "63"}},
		{name: "invalid and reserved-looking: name check first", project: "Kube-System", reserved: DefaultReserved, wantErr: []string{dnsRefusal}},

		// Reserved.
		{name: "default", project: "default", reserved: DefaultReserved, wantErr: []string{`Project name "default" is reserved for the platform (pattern "default")`, "choose another name"}},
		{name: "kube-system", project: "kube-system", reserved: DefaultReserved, wantErr: []string{`"kube-system" is reserved`, `(pattern "kube-*")`}},
		{name: "kube-public", project: "kube-public", reserved: DefaultReserved, wantErr: []string{`(pattern "kube-*")`}},
		{name: "kube-anything", project: "kube-anything", reserved: DefaultReserved, wantErr: []string{`"kube-anything" is reserved`, `(pattern "kube-*")`}},
		{name: "openshift", project: "openshift", reserved: DefaultReserved, wantErr: []string{`(pattern "openshift")`}},
		{name: "openshift-x", project: "openshift-x", reserved: DefaultReserved, wantErr: []string{`(pattern "openshift-*")`}},
		{name: "openshift-monitoring", project: "openshift-monitoring", reserved: DefaultReserved, wantErr: []string{`(pattern "openshift-*")`}},
		{name: "atrium", project: "atrium", reserved: DefaultReserved, wantErr: []string{`(pattern "atrium")`}},
		{name: "atrium-system", project: "atrium-system", reserved: DefaultReserved, wantErr: []string{`"atrium-system" is reserved`, `(pattern "atrium-*")`}},
		{name: "kubernetes", project: "kubernetes", reserved: DefaultReserved, wantErr: []string{`(pattern "kubernetes")`}},
		{name: "kubernetes-dashboard", project: "kubernetes-dashboard", reserved: DefaultReserved, wantErr: []string{`(pattern "kubernetes-*")`}},
		{name: "custom pattern", project: "platform-db", reserved: []string{"platform-*"}, wantErr: []string{`(pattern "platform-*")`}},
		{name: "custom single-character pattern", project: "team-7", reserved: []string{"team-?"}, wantErr: []string{`(pattern "team-?")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateName(tt.project, tt.reserved)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("validateName(%q) = %v, want nil", tt.project, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validateName(%q) = nil, want an error containing %q", tt.project, tt.wantErr)
			}
			for _, frag := range tt.wantErr {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
			// A DNS refusal is not also a reservation refusal and vice versa.
			isDNS := strings.Contains(err.Error(), dnsRefusal)
			isReserved := strings.Contains(err.Error(), "is reserved for the platform")
			if isDNS == isReserved {
				t.Errorf("error %q should be exactly one of a name refusal or a reservation refusal", err)
			}
		})
	}
}

func TestValidateSubjects(t *testing.T) {
	u := func(name string) tenancyv1.Subject { return tenancyv1.Subject{Kind: tenancyv1.UserSubject, Name: name} }
	g := func(name string) tenancyv1.Subject {
		return tenancyv1.Subject{Kind: tenancyv1.GroupSubject, Name: name}
	}
	tests := []struct {
		name string
		spec tenancyv1.ProjectSpec
		want []string
	}{
		{name: "empty spec", spec: tenancyv1.ProjectSpec{}},
		{
			name: "valid users and groups",
			spec: tenancyv1.ProjectSpec{
				Admins:  []tenancyv1.Subject{u("alice"), {Name: "bob"}, g("leads")},
				Members: []tenancyv1.Subject{u("system:serviceaccount:ci:deployer"), g("devs")},
				Viewers: []tenancyv1.Subject{u("a@b.c"), g("system:authenticated")},
			},
		},
		{
			name: "same subject in different lists is fine",
			spec: tenancyv1.ProjectSpec{
				Admins:  []tenancyv1.Subject{u("alice")},
				Members: []tenancyv1.Subject{u("alice")},
				Viewers: []tenancyv1.Subject{{Name: "alice"}},
			},
		},
		{
			name: "same name as User and Group is fine",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("ops"), g("ops")}},
		},
		{
			name: "user named like a privileged group is fine",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("system:masters"), {Name: "system:nodes"}}},
		},
		{
			name: "unknown kind",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{{Kind: "ServiceAccount", Name: "default"}}},
			want: []string{`spec.admins[0].kind "ServiceAccount" must be User or Group`},
		},
		{
			name: "kind is case sensitive",
			spec: tenancyv1.ProjectSpec{Members: []tenancyv1.Subject{u("alice"), {Kind: "group", Name: "devs"}}},
			want: []string{`spec.members[1].kind "group" must be User or Group`},
		},
		{
			name: "empty name",
			spec: tenancyv1.ProjectSpec{Viewers: []tenancyv1.Subject{{Kind: tenancyv1.GroupSubject}}},
			want: []string{`spec.viewers[0].name "" must be a non-empty name without surrounding spaces`},
		},
		{
			name: "leading space",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u(" alice")}},
			want: []string{`spec.admins[0].name " alice" must be a non-empty name without surrounding spaces`},
		},
		{
			name: "trailing space",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("alice ")}},
			want: []string{`spec.admins[0].name "alice " must be a non-empty name without surrounding spaces`},
		},
		{
			name: "only spaces",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("   ")}},
			want: []string{`spec.admins[0].name "   " must be a non-empty name without surrounding spaces`},
		},
		{
			name: "trailing newline counts as surrounding space",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("alice\n")}},
			want: []string{`spec.admins[0].name "alice\n" must be a non-empty name without surrounding spaces`},
		},
		{
			name: "inner space is allowed",
			spec: tenancyv1.ProjectSpec{Members: []tenancyv1.Subject{g("Web Team")}},
		},
		{
			name: "inner newline",
			spec: tenancyv1.ProjectSpec{Members: []tenancyv1.Subject{u("ali\nce")}},
			want: []string{"spec.members[0].name must not contain control characters"},
		},
		{
			name: "inner tab",
			spec: tenancyv1.ProjectSpec{Members: []tenancyv1.Subject{u("ali\tce")}},
			want: []string{"spec.members[0].name must not contain control characters"},
		},
		{
			name: "inner NUL",
			spec: tenancyv1.ProjectSpec{Viewers: []tenancyv1.Subject{g("dev\x00s")}},
			want: []string{"spec.viewers[0].name must not contain control characters"},
		},
		{
			name: "system:masters group",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{g("system:masters")}},
			want: []string{`spec.admins[0]: group "system:masters" cannot be given a role in a Project`},
		},
		{
			name: "system:nodes group",
			spec: tenancyv1.ProjectSpec{Viewers: []tenancyv1.Subject{g("devs"), g("system:nodes")}},
			want: []string{`spec.viewers[1]: group "system:nodes" cannot be given a role in a Project`},
		},
		{
			name: "exact duplicate",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("alice"), u("bob"), u("alice")}},
			want: []string{`spec.admins[2]: User "alice" is listed twice; remove one`},
		},
		{
			name: "duplicate through the defaulted kind",
			spec: tenancyv1.ProjectSpec{Members: []tenancyv1.Subject{{Name: "alice"}, u("alice")}},
			want: []string{`spec.members[1]: User "alice" is listed twice; remove one`},
		},
		{
			name: "duplicate group",
			spec: tenancyv1.ProjectSpec{Viewers: []tenancyv1.Subject{g("devs"), g("devs")}},
			want: []string{`spec.viewers[1]: Group "devs" is listed twice; remove one`},
		},
		{
			name: "listed three times",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{u("alice"), {Name: "alice"}, u("alice")}},
			want: []string{
				`spec.admins[1]: User "alice" is listed twice; remove one`,
				`spec.admins[2]: User "alice" is listed twice; remove one`,
			},
		},
		{
			name: "a bad entry listed twice is reported for both problems",
			spec: tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{g("system:masters"), g("system:masters")}},
			want: []string{
				`spec.admins[0]: group "system:masters" cannot be given a role in a Project`,
				`spec.admins[1]: group "system:masters" cannot be given a role in a Project`,
				`spec.admins[1]: Group "system:masters" is listed twice; remove one`,
			},
		},
		{
			name: "problems in field order admins, members, viewers",
			spec: tenancyv1.ProjectSpec{
				Viewers: []tenancyv1.Subject{{Kind: "Robot", Name: "r2"}},
				Members: []tenancyv1.Subject{u("")},
				Admins:  []tenancyv1.Subject{g("system:nodes")},
			},
			want: []string{
				`spec.admins[0]: group "system:nodes" cannot be given a role in a Project`,
				`spec.members[0].name "" must be a non-empty name without surrounding spaces`,
				`spec.viewers[0].kind "Robot" must be User or Group`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := validateSubjects(&tt.spec)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("validateSubjects\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestValidateSubjectsOtherControlCharacters shows that only newline, tab and
// NUL are refused, although the message promises no control characters.
func TestValidateSubjectsOtherControlCharacters(t *testing.T) {
	for _, name := range []string{"ali\rce", "ali\x1b[31mce", "ali\x7fce", "ali\x01ce", "ali\vce"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			spec := tenancyv1.ProjectSpec{Admins: []tenancyv1.Subject{{Kind: tenancyv1.UserSubject, Name: name}}}
			got := validateSubjects(&spec)
			want := []string{"spec.admins[0].name must not contain control characters"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("validateSubjects(%q) = %q, want %q", name, got, want)
			}
		})
	}
}

func TestOwnerDecision(t *testing.T) {
	spec := func(owner, offer string) *tenancyv1.ProjectSpec {
		return &tenancyv1.ProjectSpec{Owner: owner, HandOverTo: offer}
	}
	tests := []struct {
		name string
		c    ownerChange
		// wantErr lists fragments the error must contain; nil means allowed.
		wantErr []string
	}{
		// Create.
		{name: "create for oneself", c: ownerChange{creating: true, new: spec("alice", ""), requester: "alice"}},
		{name: "create for oneself as platform admin", c: ownerChange{creating: true, new: spec("root", ""), requester: "root", platformAdmin: true}},
		{name: "create for someone else as platform admin", c: ownerChange{creating: true, new: spec("alice", ""), requester: "root", platformAdmin: true}},
		{name: "create with an offer", c: ownerChange{creating: true, new: spec("alice", "bob"), requester: "alice"}},
		{
			name: "create for someone else", c: ownerChange{creating: true, new: spec("bob", ""), requester: "alice"},
			wantErr: []string{`spec.owner "bob" is not you ("alice")`, "only platform admins"},
		},
		{
			name: "create with empty owner", c: ownerChange{creating: true, new: spec("", ""), requester: "alice"},
			wantErr: []string{"spec.owner must not be empty"},
		},
		{
			name: "create with empty owner as platform admin", c: ownerChange{creating: true, new: spec("", ""), requester: "root", platformAdmin: true},
			wantErr: []string{"spec.owner must not be empty"},
		},
		{
			name: "create: owner compared exactly", c: ownerChange{creating: true, new: spec("Alice", ""), requester: "alice"},
			wantErr: []string{`spec.owner "Alice" is not you ("alice")`},
		},
		{
			name:    "a ServiceAccount creates for itself",
			c:       ownerChange{creating: true, new: spec("system:serviceaccount:team-a:ci", ""), requester: "system:serviceaccount:team-a:ci"},
			wantErr: []string{"system:serviceaccount:team-a:ci is not a person", "administer"},
		},
		{
			name:    "a ServiceAccount creates for its tenant",
			c:       ownerChange{creating: true, new: spec("alice", ""), requester: "system:serviceaccount:team-a:ci"},
			wantErr: []string{"is not a person"},
		},
		{
			name:    "a node creates",
			c:       ownerChange{creating: true, new: spec("system:node:n1", ""), requester: "system:node:n1"},
			wantErr: []string{"is not a person"},
		},
		{
			name: "a ServiceAccount a platform admin granted administer",
			c:    ownerChange{creating: true, new: spec("alice", ""), requester: "system:serviceaccount:gitops:argocd", platformAdmin: true},
		},
		{
			name:    "offered to a ServiceAccount",
			c:       ownerChange{creating: true, new: spec("alice", "system:serviceaccount:team-a:ci"), requester: "alice"},
			wantErr: []string{"is not a person"},
		},

		// Update: edits that keep the owner.
		{name: "unchanged owner, edited by the owner", c: ownerChange{old: spec("alice", ""), new: spec("alice", ""), requester: "alice"}},
		{name: "unchanged owner, edited by an admin of the Project", c: ownerChange{old: spec("alice", ""), new: spec("alice", ""), requester: "bob"}},

		// Update: offers.
		{name: "offered by the owner", c: ownerChange{old: spec("alice", ""), new: spec("alice", "bob"), requester: "alice", onlyOffer: true}},
		{name: "offer withdrawn by the owner", c: ownerChange{old: spec("alice", "bob"), new: spec("alice", ""), requester: "alice", onlyOffer: true}},
		{name: "declined by the recipient", c: ownerChange{old: spec("alice", "bob"), new: spec("alice", ""), requester: "bob", onlyOffer: true}},
		{name: "offered by a platform admin", c: ownerChange{old: spec("alice", ""), new: spec("alice", "bob"), requester: "root", platformAdmin: true}},
		{
			name: "offered by an admin of the Project", c: ownerChange{old: spec("alice", ""), new: spec("alice", "carol"), requester: "bob", onlyOffer: true},
			wantErr: []string{`spec.handOverTo may be set only by the owner ("alice")`},
		},
		{
			name: "redirected by the recipient", c: ownerChange{old: spec("alice", "bob"), new: spec("alice", "carol"), requester: "bob", onlyOffer: true},
			wantErr: []string{"only by the owner"},
		},
		{
			name: "offered to the owner", c: ownerChange{old: spec("alice", ""), new: spec("alice", "alice"), requester: "alice", onlyOffer: true},
			wantErr: []string{"already the owner"},
		},
		{
			name: "offered to a name with spaces", c: ownerChange{old: spec("alice", ""), new: spec("alice", " bob"), requester: "alice", onlyOffer: true},
			wantErr: []string{"without surrounding spaces"},
		},

		// Update: owner changes.
		{name: "accepted by the recipient", c: ownerChange{old: spec("alice", "bob"), new: spec("bob", ""), requester: "bob", onlyOffer: true}},
		{name: "handed over by a platform admin", c: ownerChange{old: spec("alice", ""), new: spec("bob", ""), requester: "root", platformAdmin: true}},
		{
			name: "handed over by the owner without an offer", c: ownerChange{old: spec("alice", ""), new: spec("bob", ""), requester: "alice", onlyOffer: true},
			wantErr: []string{`set spec.handOverTo to "bob"`, "bob accepts"},
		},
		{
			name: "handed to a made-up user by the owner", c: ownerChange{old: spec("alice", ""), new: spec("nobody-at-all", ""), requester: "alice", onlyOffer: true},
			wantErr: []string{"hands a Project over by offering it"},
		},
		{
			name: "taken by a user who was not offered it", c: ownerChange{old: spec("alice", ""), new: spec("bob", ""), requester: "bob", onlyOffer: true},
			wantErr: []string{"only by accepting an offer", `keep it "alice"`},
		},
		{
			name: "taken by a user offered it, with other changes", c: ownerChange{old: spec("alice", "bob"), new: spec("bob", ""), requester: "bob"},
			wantErr: []string{"changes spec.owner only"},
		},
		{
			name: "taken by another user than the one offered", c: ownerChange{old: spec("alice", "bob"), new: spec("carol", ""), requester: "carol", onlyOffer: true},
			wantErr: []string{"only by accepting an offer"},
		},
		{
			name: "given by the recipient to a third user", c: ownerChange{old: spec("alice", "bob"), new: spec("carol", ""), requester: "bob", onlyOffer: true},
			wantErr: []string{"only by accepting an offer"},
		},
		{
			name: "cleared by the owner", c: ownerChange{old: spec("alice", ""), new: spec("", ""), requester: "alice"},
			wantErr: []string{"spec.owner must not be empty"},
		},
		{
			name: "cleared by a platform admin", c: ownerChange{old: spec("alice", ""), new: spec("", ""), requester: "root", platformAdmin: true},
			wantErr: []string{"spec.owner must not be empty"},
		},
		{
			name: "ownerless Project claimed by a user", c: ownerChange{old: spec("", ""), new: spec("bob", ""), requester: "bob", onlyOffer: true},
			wantErr: []string{"only by accepting an offer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ownerDecision(tt.c)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ownerDecision = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ownerDecision = nil, want an error containing %q", tt.wantErr)
			}
			for _, frag := range tt.wantErr {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not contain %q", err, frag)
				}
			}
		})
	}
}

func TestLimitDecision(t *testing.T) {
	limit := func(n int32) *int32 { return &n }
	tests := []struct {
		name    string
		max     *int32
		owned   int
		wantErr string // the whole message; empty means allowed
	}{
		{name: "unlimited, none owned", max: nil, owned: 0},
		{name: "unlimited, many owned", max: nil, owned: 10000},
		{name: "below the limit", max: limit(3), owned: 0},
		{name: "one below the limit", max: limit(3), owned: 2},
		{
			name: "at the limit", max: limit(3), owned: 3,
			wantErr: `alice already owns 3 Project(s) on tier "standard", the most that tier allows per user is 3; delete one, or ask an admin for another tier`,
		},
		{
			name: "above the limit (lowered later)", max: limit(1), owned: 5,
			wantErr: `alice already owns 5 Project(s) on tier "standard", the most that tier allows per user is 1; delete one, or ask an admin for another tier`,
		},
		{
			name: "limit zero closes the tier", max: limit(0), owned: 0,
			wantErr: `alice already owns 0 Project(s) on tier "standard", the most that tier allows per user is 0; delete one, or ask an admin for another tier`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tier := &tenancyv1.ProjectTier{
				ObjectMeta: metav1.ObjectMeta{Name: "standard"},
				Spec:       tenancyv1.ProjectTierSpec{MaxProjectsPerUser: tt.max},
			}
			err := limitDecision(tier, "alice", tt.owned)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("limitDecision = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("limitDecision = nil, want %q", tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("limitDecision\n got: %q\nwant: %q", err, tt.wantErr)
			}
		})
	}
}

func TestImmutableAnnotationChanged(t *testing.T) {
	const key = tenancyv1.AdoptNamespaceAnnotation
	tests := []struct {
		name     string
		old, new map[string]string
		want     bool
	}{
		{name: "no annotations", old: nil, new: nil, want: false},
		{name: "nil and empty", old: nil, new: map[string]string{}, want: false},
		{name: "unchanged", old: map[string]string{key: "uid-1"}, new: map[string]string{key: "uid-1"}, want: false},
		{
			name: "other annotations changed",
			old:  map[string]string{key: "uid-1", "a": "1"},
			new:  map[string]string{key: "uid-1", "a": "2", "b": "3"},
			want: false,
		},
		{name: "other annotation added without adoption", old: nil, new: map[string]string{"note": "x"}, want: false},
		{name: "added", old: nil, new: map[string]string{key: "uid-1"}, want: true},
		{name: "added next to others", old: map[string]string{"a": "1"}, new: map[string]string{"a": "1", key: "uid-1"}, want: true},
		{name: "removed", old: map[string]string{key: "uid-1"}, new: map[string]string{}, want: true},
		{name: "removed with all annotations", old: map[string]string{key: "uid-1"}, new: nil, want: true},
		{name: "changed", old: map[string]string{key: "uid-1"}, new: map[string]string{key: "uid-2"}, want: true},
		{name: "emptied", old: map[string]string{key: "uid-1"}, new: map[string]string{key: ""}, want: true},
		{name: "similar key is not the annotation", old: nil, new: map[string]string{"tenancy.atrium.dev/adopt-namespace": "uid-1"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := immutableAnnotationChanged(tt.old, tt.new); got != tt.want {
				t.Errorf("immutableAnnotationChanged(%v, %v) = %v, want %v", tt.old, tt.new, got, tt.want)
			}
		})
	}
}
