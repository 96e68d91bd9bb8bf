package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

func cond(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            message,
		LastTransitionTime: metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
}

// allPartsTrue are the four part conditions, all true.
func allPartsTrue() []metav1.Condition {
	return []metav1.Condition{
		cond(tenancyv1.NamespaceReadyCondition, metav1.ConditionTrue, "NamespaceReady", "namespace ok"),
		cond(tenancyv1.RBACReadyCondition, metav1.ConditionTrue, "RBACReady", "rbac ok"),
		cond(tenancyv1.QuotaReadyCondition, metav1.ConditionTrue, "QuotaReady", "quota ok"),
		cond(tenancyv1.NetworkPolicyReadyCondition, metav1.ConditionTrue, "Isolated", "isolated"),
	}
}

// withPart replaces the condition of one type in a list.
func withPart(conds []metav1.Condition, c metav1.Condition) []metav1.Condition {
	for i := range conds {
		if conds[i].Type == c.Type {
			conds[i] = c
			return conds
		}
	}
	return append(conds, c)
}

// withoutPart drops the condition of one type from a list.
func withoutPart(conds []metav1.Condition, typ string) []metav1.Condition {
	out := conds[:0]
	for _, c := range conds {
		if c.Type != typ {
			out = append(out, c)
		}
	}
	return out
}

func TestSetReady(t *testing.T) {
	tests := []struct {
		name        string
		conditions  []metav1.Condition
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{
			name:        "all parts true",
			conditions:  allPartsTrue(),
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "Provisioned",
			wantMessage: "namespace demo is ready",
		},
		{
			name: "all parts true, listed in another order",
			conditions: func() []metav1.Condition {
				c := allPartsTrue()
				return []metav1.Condition{c[3], c[1], c[0], c[2]}
			}(),
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "Provisioned",
			wantMessage: "namespace demo is ready",
		},
		{
			name:        "no conditions yet",
			conditions:  nil,
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Pending",
			wantMessage: "NamespaceReady not yet reconciled",
		},
		{
			name:        "RBAC part missing",
			conditions:  withoutPart(allPartsTrue(), tenancyv1.RBACReadyCondition),
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Pending",
			wantMessage: "RBACReady not yet reconciled",
		},
		{
			name:        "network policy part missing",
			conditions:  withoutPart(allPartsTrue(), tenancyv1.NetworkPolicyReadyCondition),
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Pending",
			wantMessage: "NetworkPolicyReady not yet reconciled",
		},
		{
			name: "namespace false: later parts never looked at",
			conditions: []metav1.Condition{
				cond(tenancyv1.NamespaceReadyCondition, metav1.ConditionFalse, "NamespaceConflict", "namespace demo already exists"),
			},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "NamespaceConflict",
			wantMessage: "namespace demo already exists",
		},
		{
			name:        "quota false",
			conditions:  withPart(allPartsTrue(), cond(tenancyv1.QuotaReadyCondition, metav1.ConditionFalse, "TierNotFound", "tier gone")),
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "TierNotFound",
			wantMessage: "tier gone",
		},
		{
			name:        "network policy false",
			conditions:  withPart(allPartsTrue(), cond(tenancyv1.NetworkPolicyReadyCondition, metav1.ConditionFalse, "Error", "apply failed")),
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Error",
			wantMessage: "apply failed",
		},
		{
			name:        "unknown counts as not true",
			conditions:  withPart(allPartsTrue(), cond(tenancyv1.RBACReadyCondition, metav1.ConditionUnknown, "Checking", "rbac unknown")),
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Checking",
			wantMessage: "rbac unknown",
		},
		{
			name: "first failing part in part order wins, not list order",
			conditions: []metav1.Condition{
				cond(tenancyv1.NetworkPolicyReadyCondition, metav1.ConditionFalse, "NPReason", "np message"),
				cond(tenancyv1.QuotaReadyCondition, metav1.ConditionFalse, "QuotaReason", "quota message"),
				cond(tenancyv1.RBACReadyCondition, metav1.ConditionFalse, "RBACReason", "rbac message"),
				cond(tenancyv1.NamespaceReadyCondition, metav1.ConditionTrue, "NamespaceReady", "ok"),
			},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "RBACReason",
			wantMessage: "rbac message",
		},
		{
			name: "missing part before a false one is reported as pending",
			conditions: []metav1.Condition{
				cond(tenancyv1.NamespaceReadyCondition, metav1.ConditionTrue, "NamespaceReady", "ok"),
				cond(tenancyv1.QuotaReadyCondition, metav1.ConditionFalse, "QuotaReason", "quota message"),
			},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Pending",
			wantMessage: "RBACReady not yet reconciled",
		},
		{
			name: "false part before a missing one is reported",
			conditions: []metav1.Condition{
				cond(tenancyv1.NamespaceReadyCondition, metav1.ConditionTrue, "NamespaceReady", "ok"),
				cond(tenancyv1.RBACReadyCondition, metav1.ConditionFalse, "RBACReason", "rbac message"),
			},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "RBACReason",
			wantMessage: "rbac message",
		},
		{
			name:        "stale Ready true is turned false",
			conditions:  append(withPart(allPartsTrue(), cond(tenancyv1.QuotaReadyCondition, metav1.ConditionFalse, "Q", "q")), cond(tenancyv1.ReadyCondition, metav1.ConditionTrue, "Provisioned", "old")),
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "Q",
			wantMessage: "q",
		},
		{
			name:        "stale Ready false is turned true",
			conditions:  append(allPartsTrue(), cond(tenancyv1.ReadyCondition, metav1.ConditionFalse, "Pending", "old")),
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "Provisioned",
			wantMessage: "namespace demo is ready",
		},
		{
			name: "unrelated conditions do not count",
			conditions: append(allPartsTrue(),
				cond("SomethingElse", metav1.ConditionFalse, "Other", "other")),
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "Provisioned",
			wantMessage: "namespace demo is ready",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo")
			p.Generation = 7
			p.Status.Conditions = tt.conditions
			partsBefore := len(tt.conditions)
			hadReady := meta.FindStatusCondition(tt.conditions, tenancyv1.ReadyCondition) != nil

			setReady(p)

			ready := meta.FindStatusCondition(p.Status.Conditions, tenancyv1.ReadyCondition)
			if ready == nil {
				t.Fatalf("no Ready condition in %v", p.Status.Conditions)
			}
			if ready.Status != tt.wantStatus || ready.Reason != tt.wantReason || ready.Message != tt.wantMessage {
				t.Errorf("Ready = %s/%s/%q, want %s/%s/%q",
					ready.Status, ready.Reason, ready.Message, tt.wantStatus, tt.wantReason, tt.wantMessage)
			}
			if ready.ObservedGeneration != 7 {
				t.Errorf("Ready.observedGeneration = %d, want 7", ready.ObservedGeneration)
			}
			wantLen := partsBefore + 1
			if hadReady {
				wantLen = partsBefore
			}
			if len(p.Status.Conditions) != wantLen {
				t.Errorf("got %d conditions, want %d: %v", len(p.Status.Conditions), wantLen, p.Status.Conditions)
			}
		})
	}
}

func TestSetCondition(t *testing.T) {
	past := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name       string
		existing   []metav1.Condition
		condition  string
		res        result
		wantStatus metav1.ConditionStatus
		// wantTransition: LastTransitionTime moves on from the existing one.
		wantTransition bool
	}{
		{
			name:       "ok result is true",
			condition:  tenancyv1.NamespaceReadyCondition,
			res:        result{ok: true, reason: "NamespaceReady", message: "namespace demo created"},
			wantStatus: metav1.ConditionTrue,
		},
		{
			name:       "failed result is false",
			condition:  tenancyv1.QuotaReadyCondition,
			res:        result{reason: "TierNotFound", message: "no tier", requeue: time.Second},
			wantStatus: metav1.ConditionFalse,
		},
		{
			name:           "flip from true to false replaces the condition",
			existing:       []metav1.Condition{{Type: tenancyv1.RBACReadyCondition, Status: metav1.ConditionTrue, Reason: "RBACReady", Message: "old", LastTransitionTime: past}},
			condition:      tenancyv1.RBACReadyCondition,
			res:            result{reason: "Error", message: "forbidden"},
			wantStatus:     metav1.ConditionFalse,
			wantTransition: true,
		},
		{
			name:           "same status keeps the transition time but takes the new message",
			existing:       []metav1.Condition{{Type: tenancyv1.RBACReadyCondition, Status: metav1.ConditionTrue, Reason: "RBACReady", Message: "1 admin(s)", LastTransitionTime: past}},
			condition:      tenancyv1.RBACReadyCondition,
			res:            result{ok: true, reason: "RBACReady", message: "2 admin(s)"},
			wantStatus:     metav1.ConditionTrue,
			wantTransition: false,
		},
		{
			name:       "other conditions are left alone",
			existing:   []metav1.Condition{{Type: tenancyv1.NamespaceReadyCondition, Status: metav1.ConditionFalse, Reason: "X", Message: "x", LastTransitionTime: past}},
			condition:  tenancyv1.NetworkPolicyReadyCondition,
			res:        result{ok: true, reason: "Isolated", message: "isolated"},
			wantStatus: metav1.ConditionTrue,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo")
			p.Generation = 3
			p.Status.Conditions = append([]metav1.Condition(nil), tt.existing...)

			setCondition(p, tt.condition, tt.res)

			c := meta.FindStatusCondition(p.Status.Conditions, tt.condition)
			if c == nil {
				t.Fatalf("condition %s not set: %v", tt.condition, p.Status.Conditions)
			}
			if c.Status != tt.wantStatus || c.Reason != tt.res.reason || c.Message != tt.res.message {
				t.Errorf("%s = %s/%s/%q, want %s/%s/%q", tt.condition, c.Status, c.Reason, c.Message, tt.wantStatus, tt.res.reason, tt.res.message)
			}
			if c.ObservedGeneration != 3 {
				t.Errorf("observedGeneration = %d, want 3", c.ObservedGeneration)
			}
			if c.LastTransitionTime.IsZero() {
				t.Error("lastTransitionTime not set")
			}
			if old := meta.FindStatusCondition(tt.existing, tt.condition); old != nil {
				if moved := !c.LastTransitionTime.Equal(&old.LastTransitionTime); moved != tt.wantTransition {
					t.Errorf("lastTransitionTime moved = %v, want %v", moved, tt.wantTransition)
				}
			}
			// Exactly one condition of the type, and every other one unchanged.
			n := 0
			for _, got := range p.Status.Conditions {
				if got.Type == tt.condition {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d conditions of type %s, want 1", n, tt.condition)
			}
			for _, old := range tt.existing {
				if old.Type == tt.condition {
					continue
				}
				if got := meta.FindStatusCondition(p.Status.Conditions, old.Type); got == nil || *got != old {
					t.Errorf("condition %s changed: %v, was %v", old.Type, got, old)
				}
			}
		})
	}
}

func TestTierMissing(t *testing.T) {
	tests := []struct {
		name        string
		specTier    string
		loaded      *tenancyv1.ProjectTier
		wantMissing bool
	}{
		{name: "no tier asked for", specTier: "", wantMissing: false},
		{name: "no tier asked for, none loaded", specTier: "", loaded: nil, wantMissing: false},
		{name: "tier loaded", specTier: "gold", loaded: testTier("gold"), wantMissing: false},
		{name: "tier named but not found", specTier: "gold", loaded: nil, wantMissing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProject("demo", func(p *tenancyv1.Project) { p.Spec.Tier = tt.specTier })
			res, missing := tierMissing(&scope{project: p, tier: tt.loaded})
			if missing != tt.wantMissing {
				t.Fatalf("missing = %v, want %v", missing, tt.wantMissing)
			}
			if !missing {
				if res != (result{}) {
					t.Errorf("result = %+v, want the zero result", res)
				}
				return
			}
			if res.ok {
				t.Error("a missing tier must not be ok")
			}
			if res.reason != "TierNotFound" {
				t.Errorf("reason = %q, want TierNotFound", res.reason)
			}
			if want := `ProjectTier "gold" does not exist`; !strings.Contains(res.message, want) {
				t.Errorf("message %q does not contain %q", res.message, want)
			}
			if res.requeue != 0 {
				t.Errorf("requeue = %v, want 0 (the tier's creation brings the Project back)", res.requeue)
			}
		})
	}
}

func TestRolloutCondition(t *testing.T) {
	onTier := func(name string, applied *tenancyv1.AppliedTier) tenancyv1.Project {
		p := testProject(name, func(p *tenancyv1.Project) { p.Spec.Tier = "gold"; p.Status.Tier = applied })
		return *p
	}
	current := &tenancyv1.AppliedTier{Name: "gold", Generation: 4}
	older := &tenancyv1.AppliedTier{Name: "gold", Generation: 3}
	otherTier := &tenancyv1.AppliedTier{Name: "silver", Generation: 4}

	tests := []struct {
		name        string
		projects    []tenancyv1.Project
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{
			name:        "no projects (nil)",
			projects:    nil,
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "RolledOut",
			wantMessage: "all 0 Project(s) have generation 4 of this tier",
		},
		{
			name:        "no projects (empty)",
			projects:    []tenancyv1.Project{},
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "RolledOut",
			wantMessage: "all 0 Project(s) have generation 4 of this tier",
		},
		{
			name:        "all on the current generation",
			projects:    []tenancyv1.Project{onTier("a", current), onTier("b", current), onTier("c", current)},
			wantStatus:  metav1.ConditionTrue,
			wantReason:  "RolledOut",
			wantMessage: "all 3 Project(s) have generation 4 of this tier",
		},
		{
			name:        "one on an older generation",
			projects:    []tenancyv1.Project{onTier("a", current), onTier("b", older), onTier("c", current)},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "RollingOut",
			wantMessage: "2 of 3 Project(s) have generation 4 of this tier",
		},
		{
			name:        "one never reconciled",
			projects:    []tenancyv1.Project{onTier("a", nil), onTier("b", current)},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "RollingOut",
			wantMessage: "1 of 2 Project(s) have generation 4 of this tier",
		},
		{
			name:        "one still on the tier it moved from, same generation number",
			projects:    []tenancyv1.Project{onTier("a", otherTier)},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "RollingOut",
			wantMessage: "0 of 1 Project(s) have generation 4 of this tier",
		},
		{
			name:        "none updated",
			projects:    []tenancyv1.Project{onTier("a", older), onTier("b", nil), onTier("c", otherTier)},
			wantStatus:  metav1.ConditionFalse,
			wantReason:  "RollingOut",
			wantMessage: "0 of 3 Project(s) have generation 4 of this tier",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tier := testTier("gold", func(t *tenancyv1.ProjectTier) { t.Generation = 4 })
			c := rolloutCondition(tier, tt.projects)
			if c.Type != tenancyv1.ReadyCondition {
				t.Errorf("type = %q, want Ready", c.Type)
			}
			if c.Status != tt.wantStatus || c.Reason != tt.wantReason || c.Message != tt.wantMessage {
				t.Errorf("condition = %s/%s/%q, want %s/%s/%q", c.Status, c.Reason, c.Message, tt.wantStatus, tt.wantReason, tt.wantMessage)
			}
			if c.ObservedGeneration != 4 {
				t.Errorf("observedGeneration = %d, want 4", c.ObservedGeneration)
			}
		})
	}
}

func TestDeletingCondition(t *testing.T) {
	p := testProject("demo", func(p *tenancyv1.Project) { p.Generation = 3 })
	tests := []struct {
		name       string
		conditions []corev1.NamespaceCondition
		want       string
	}{
		{name: "nothing reported yet", want: "namespace demo is being deleted; the Project goes once it is gone"},
		{
			name: "what holds the namespace up is named",
			conditions: []corev1.NamespaceCondition{
				{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionFalse, Message: "All resources successfully discovered"},
				{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Message: "Some resources are remaining: persistentvolumeclaims has 1 resource instances"},
				{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Message: "Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances"},
			},
			want: "namespace demo is being deleted; the Project goes once it is gone: " +
				"Some resources are remaining: persistentvolumeclaims has 1 resource instances; " +
				"Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}, Status: corev1.NamespaceStatus{Conditions: tt.conditions}}
			c := deletingCondition(p, ns)
			if c.Type != tenancyv1.ReadyCondition || c.Status != metav1.ConditionFalse || c.Reason != "Deleting" || c.ObservedGeneration != 3 {
				t.Errorf("condition = %+v", c)
			}
			if c.Message != tt.want {
				t.Errorf("message\n got: %s\nwant: %s", c.Message, tt.want)
			}
		})
	}
}
