package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/pdnsfake"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// LimitUnderConcurrencyInput names a user, a tier of the admin's and how
// hard the user tries.
type LimitUnderConcurrencyInput struct {
	User, Tier string
	Limit      int32
	Attempts   int
	Timeout    time.Duration
}

// LimitUnderConcurrency: a user fires many creates at once at the shipped
// webhook, whose replicas each decide some of them; exactly the tier's
// limit is admitted. The user then deletes them as kubectl does and
// nothing is left: no namespace, no role, no slot counting against them.
func LimitUnderConcurrency(ctx context.Context, t *testing.T, in LimitUnderConcurrencyInput) {
	t.Helper()
	tier := &tenancyv1.ProjectTier{
		ObjectMeta: metav1.ObjectMeta{Name: in.Tier},
		Spec:       tenancyv1.ProjectTierSpec{SelfService: true, MaxProjectsPerUser: ptr.To(in.Limit)},
	}
	if err := f.env.Client.Create(ctx, tier); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.env.Client.Delete(context.Background(), tier) }()
	user, err := f.env.ClientAs(in.User)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var admitted []string
	var wg sync.WaitGroup
	for i := range in.Attempts {
		name := fmt.Sprintf("%s-%d", in.User, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1.ProjectSpec{Tier: in.Tier}}
			err := user.Create(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				admitted = append(admitted, name)
			case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "already owns"):
			default:
				t.Errorf("create %s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	if len(admitted) != int(in.Limit) {
		t.Errorf("%d of %d concurrent creates admitted (%v), want exactly %d", len(admitted), in.Attempts, admitted, in.Limit)
	}
	for _, name := range admitted {
		waitReady(ctx, t, name, in.Timeout)
		deleteProjectAs(ctx, t, f.env, in.User, name)
		if left := projectLeftovers(ctx, t, name); len(left) > 0 {
			t.Errorf("Project %s deleted, left behind: %v", name, left)
		}
		if err := f.env.Client.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s: %v", name, err)
		}
	}
}

func TestLimitUnderConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	LimitUnderConcurrency(ctx, t, LimitUnderConcurrencyInput{User: "rita", Tier: "e2e-race", Limit: 2, Attempts: 50, Timeout: time.Minute})
}

// HandOverInput names a Project, its owner and the user it goes to.
type HandOverInput struct {
	Project, Owner, Recipient string
	Timeout                   time.Duration
}

// HandOver: the owner offers a Project, the recipient (who could read
// nothing of it before) accepts; the recipient administers the namespace,
// the previous owner no longer does, and the new owner deletes it with
// nothing left behind.
func HandOver(ctx context.Context, t *testing.T, in HandOverInput) {
	t.Helper()
	owner, err := f.env.ClientAs(in.Owner)
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := f.env.ClientAs(in.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	if err := recipient.Get(ctx, client.ObjectKey{Name: in.Project}, &tenancyv1.Project{}); !apierrors.IsForbidden(err) {
		t.Fatalf("before the offer the recipient reads the Project: %v", err)
	}
	patch := func(c client.Client, spec string) error {
		p := &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}
		return c.Patch(ctx, p, client.RawPatch("application/merge-patch+json", []byte(`{"spec":`+spec+`}`)))
	}
	if err := patch(owner, fmt.Sprintf(`{"handOverTo":%q}`, in.Recipient)); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error { return patch(recipient, fmt.Sprintf(`{"owner":%q}`, in.Recipient)) })
	if err != nil {
		t.Fatalf("the recipient cannot accept: %v", err)
	}
	cm := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Project}}
	}
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return recipient.Create(ctx, cm("new-owner")) }); err != nil {
		t.Fatalf("the new owner cannot work in the namespace: %v", err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if err := owner.Create(ctx, cm("old-owner")); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the previous owner still works in the namespace: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The Project's own ClusterRoleBinding (edit on the Project object)
	// follows the namespace's RoleBindings; under load it may come a moment
	// after them.
	if err := testenv.Eventually(ctx, in.Timeout, func() error {
		return recipient.Get(ctx, client.ObjectKey{Name: in.Project}, &tenancyv1.Project{})
	}); err != nil {
		t.Fatalf("the new owner cannot read the Project: %v", err)
	}
	deleteProjectAs(ctx, t, f.env, in.Recipient, in.Project)
	if left := projectLeftovers(ctx, t, in.Project); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	HandOver(ctx, t, HandOverInput{Project: "handed-over", Owner: "hugo", Recipient: "hana", Timeout: time.Minute})
}

// ZoneCannotBeTakenInput names a power user's namespace, a tenant and the
// hostname of a site that was just deleted.
type ZoneCannotBeTakenInput struct {
	PowerNamespace, Tenant, Project string
	Timeout                         time.Duration
}

// ZoneCannotBeTaken: a wildcard over the tenants' whole zone, from a
// namespace outside any Project (a power user with direct access) or from a
// tenant's Project, is refused, so a name nobody holds (a site deleted a
// moment ago) resolves to nothing rather than to the squatter.
func ZoneCannotBeTaken(ctx context.Context, t *testing.T, in ZoneCannotBeTakenInput) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.PowerNamespace}}
	if err := f.env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.env.Client.Delete(context.Background(), ns) }()
	wild := func(ns string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "everything"},
			Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "*." + dnsZone}}},
		}
	}
	err := f.env.Client.Create(ctx, wild(in.PowerNamespace))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "belongs to no Project") {
		t.Fatalf("a wildcard over the zone from outside Projects: %v", err)
	}
	tenant, err := f.env.ClientAs(in.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if err := tenant.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		err := tenant.Create(ctx, wild(in.Project))
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "a domain all Projects of tier") {
			return nil
		}
		return fmt.Errorf("a wildcard over the zone from a Project: %v", err)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing answers for a name nobody holds.
	if err := records("just-deleted."+dnsZone, mdns.TypeA); err != nil {
		t.Error(err)
	}
	deleteProjectAs(ctx, t, f.env, in.Tenant, in.Project)
}

func TestZoneCannotBeTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ZoneCannotBeTaken(ctx, t, ZoneCannotBeTakenInput{PowerNamespace: "power-user", Tenant: "zara", Project: "zaras-lab", Timeout: time.Minute})
}

// TenantServesOnlyWhatItClaimsInput names a tenant and its Project.
type TenantServesOnlyWhatItClaimsInput struct {
	Tenant, Project string
	Timeout         time.Duration
}

// TenantServesOnlyWhatItClaims: as a tenant, through the shipped webhook,
// each way of serving names that are not claimed, or of passing for
// someone else's, is refused with a reason, and none leaves a claim.
func TenantServesOnlyWhatItClaims(ctx context.Context, t *testing.T, in TenantServesOnlyWhatItClaimsInput) {
	t.Helper()
	tenant, err := f.env.ClientAs(in.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if err := tenant.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, in.Project, in.Timeout)
	own := in.Project + "." + dnsZone
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
	many := make([]networkingv1.IngressRule, 101)
	for i := range many {
		many[i].Host = fmt.Sprintf("h%d.%s", i, own)
	}
	for _, tc := range []struct {
		name string
		spec networkingv1.IngressSpec
		want string
	}{
		{"catch-all", networkingv1.IngressSpec{DefaultBackend: &backend}, "spec.defaultBackend serves every hostname"},
		{"look-alike", networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "xn--pple-43d." + own}}}, "mixes scripts"},
		{"too-many", networkingv1.IngressSpec{Rules: many}, "the most one object may have is 100"},
	} {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: in.Project, Name: tc.name}, Spec: tc.spec}
		err := testenv.Eventually(ctx, in.Timeout, func() error {
			err := tenant.Create(ctx, ing.DeepCopy())
			if apierrors.IsForbidden(err) && strings.Contains(err.Error(), tc.want) {
				return nil
			}
			return fmt.Errorf("%s: %v", tc.name, err)
		})
		if err != nil {
			t.Error(err)
		}
	}
	var held fleetv1.HostnameClaimList
	if err := f.hub.Client.List(ctx, &held, client.MatchingLabels{fleetv1.NamespaceLabel: in.Project}); err != nil {
		t.Fatal(err)
	}
	if len(held.Items) != 0 {
		t.Errorf("refused objects left %d claims", len(held.Items))
	}
	deleteProjectAs(ctx, t, f.env, in.Tenant, in.Project)
}

func TestTenantServesOnlyWhatItClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	TenantServesOnlyWhatItClaims(ctx, t, TenantServesOnlyWhatItClaimsInput{Tenant: "tess", Project: "tess-site", Timeout: time.Minute})
}

// DNSCannotBePoisonedInput names a victim and an attacker, each with a
// Project.
type DNSCannotBePoisonedInput struct {
	Victim, VictimProject     string
	Attacker, AttackerProject string
	Timeout                   time.Duration
}

// DNSCannotBePoisoned: with real BIND9, a victim's site is published with
// its ownership record. An attacker's DNSEndpoint cannot put a record at
// that ownership record's name (no claimable hostname is one), nor delegate
// a name of its own elsewhere, nor take a name under the victim's wildcard;
// the victim's records stay as they were, and the attacker's own site is
// still published beside them.
func DNSCannotBePoisoned(ctx context.Context, t *testing.T, in DNSCannotBePoisonedInput) {
	t.Helper()
	victim, err := f.env.ClientAs(in.Victim)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := f.env.ClientAs(in.Attacker)
	if err != nil {
		t.Fatal(err)
	}
	for c, p := range map[client.Client]string{victim: in.VictimProject, attacker: in.AttackerProject} {
		if err := c.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: p}}); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(ctx, t, in.VictimProject, in.Timeout)
	waitReady(ctx, t, in.AttackerProject, in.Timeout)
	endpoints := func(ns, name string, eps ...map[string]any) *unstructured.Unstructured {
		list := make([]any, 0, len(eps))
		for _, e := range eps {
			list = append(list, e)
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec":     map[string]any{"endpoints": list},
		}}
	}
	record := func(name, typ string, targets ...string) map[string]any {
		ts := make([]any, 0, len(targets))
		for _, t := range targets {
			ts = append(ts, t)
		}
		return map[string]any{"dnsName": name, "recordType": typ, "targets": ts}
	}
	site := "www." + in.VictimProject + "." + dnsZone
	wild := "*.apps." + in.VictimProject + "." + dnsZone
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		return victim.Create(ctx, endpoints(in.VictimProject, "site", record(site, "A", "192.0.2.91"), record(wild, "A", "192.0.2.92")))
	})
	if err != nil {
		t.Fatal(err)
	}
	ownership := "_atrium-a." + site
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if err := records(site, mdns.TypeA, "192.0.2.91"); err != nil {
			return err
		}
		txt, err := f.dns.Lookup(ownership, mdns.TypeTXT)
		if err != nil || len(txt) != 1 {
			return fmt.Errorf("ownership record %s: %v %v", ownership, txt, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	own := "www." + in.AttackerProject + "." + dnsZone
	for what, obj := range map[string]*unstructured.Unstructured{
		"a CNAME at the victim's ownership record": endpoints(in.AttackerProject, "poison", record(ownership, "CNAME", own)),
		"a delegation of its own name":             endpoints(in.AttackerProject, "delegate", record("ns."+in.AttackerProject+"."+dnsZone, "NS", "ns1.elsewhere.example")),
		"a name under the victim's wildcard":       endpoints(in.AttackerProject, "under", record("x.apps."+in.VictimProject+"."+dnsZone, "A", "192.0.2.66")),
	} {
		err := testenv.Eventually(ctx, in.Timeout, func() error {
			err := attacker.Create(ctx, obj.DeepCopy())
			if apierrors.IsForbidden(err) {
				return nil
			}
			return fmt.Errorf("%s: %v", what, err)
		})
		if err != nil {
			t.Error(err)
		}
	}
	if err := attacker.Create(ctx, endpoints(in.AttackerProject, "own", record(own, "A", "192.0.2.93"))); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error { return records(own, mdns.TypeA, "192.0.2.93") })
	if err != nil {
		t.Fatal(err)
	}
	if err := records(site, mdns.TypeA, "192.0.2.91"); err != nil {
		t.Error(err)
	}
	if err := records(ownership, mdns.TypeCNAME); err != nil {
		t.Error(err)
	}
	for user, p := range map[string]string{in.Victim: in.VictimProject, in.Attacker: in.AttackerProject} {
		deleteProjectAs(ctx, t, f.env, user, p)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error { return records(site, mdns.TypeA) })
	if err != nil {
		t.Errorf("after the victim's Project is gone: %v", err)
	}
}

func TestDNSCannotBePoisoned(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	DNSCannotBePoisoned(ctx, t, DNSCannotBePoisonedInput{
		Victim: "vic", VictimProject: "vics-site", Attacker: "mal", AttackerProject: "mals-site", Timeout: time.Minute,
	})
}

// RefusedRecordSetIsIsolatedInput names a tenant and its Project on the
// PowerDNS member.
type RefusedRecordSetIsIsolatedInput struct {
	Tenant, Project string
	Timeout         time.Duration
}

// RefusedRecordSetIsIsolated: on a member whose DNS is PowerDNS, which
// refuses a whole write for one record set it will not take, a tenant's
// CNAME at a name that has a record made by hand is refused and reported
// on its claim, while the tenant's other record is published in the same
// sync.
func RefusedRecordSetIsIsolated(ctx context.Context, t *testing.T, in RefusedRecordSetIsIsolatedInput) {
	t.Helper()
	env := f.pdnsMember.Env
	tenant, err := env.ClientAs(in.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if err := tenant.Create(ctx, &tenancyv1.Project{ObjectMeta: metav1.ObjectMeta{Name: in.Project}}); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		p := &tenancyv1.Project{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: in.Project}, p); err != nil {
			return err
		}
		return readyErr(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	blocked := "blocked." + in.Project + "." + dnsZone
	site := "www." + in.Project + "." + dnsZone
	f.pdns.Add(pdnsfake.RRset{Name: blocked, Type: "TXT", TTL: 300, Records: []pdnsfake.Record{{Content: `"made by hand"`}}})
	ep := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
		"metadata": map[string]any{"name": "records", "namespace": in.Project},
		"spec": map[string]any{"endpoints": []any{
			map[string]any{"dnsName": blocked, "recordType": "CNAME", "targets": []any{site}},
			map[string]any{"dnsName": site, "recordType": "A", "targets": []any{"192.0.2.95"}},
		}},
	}}
	if err := testenv.Eventually(ctx, in.Timeout, func() error { return tenant.Create(ctx, ep.DeepCopy()) }); err != nil {
		t.Fatal(err)
	}
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if _, ok := f.pdns.RRset(site, "A"); !ok {
			return fmt.Errorf("%s not published", site)
		}
		c := &fleetv1.HostnameClaim{}
		if err := f.hub.Client.Get(ctx, client.ObjectKey{Name: blocked}, c); err != nil {
			return err
		}
		for _, cond := range c.Status.Conditions {
			if cond.Type == "DNSRegistered" && cond.Reason == "Refused" {
				return nil
			}
		}
		return fmt.Errorf("claim %s does not say Refused: %v", blocked, c.Status.Conditions)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.pdns.RRset(blocked, "CNAME"); ok {
		t.Error("the refused CNAME is in the zone")
	}
	deleteProjectAs(ctx, t, env, in.Tenant, in.Project)
	err = testenv.Eventually(ctx, in.Timeout, func() error {
		if _, ok := f.pdns.RRset(site, "A"); ok {
			return fmt.Errorf("%s still published after the Project went", site)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestRefusedRecordSetIsIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	RefusedRecordSetIsIsolated(ctx, t, RefusedRecordSetIsIsolatedInput{Tenant: "pia", Project: "pias-site", Timeout: time.Minute})
}
