package controllers_test

import (
	"context"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// pagesSite makes a GitLabPagesSite whose status carries GitLab's
// verification code, as the pages operator writes it.
func pagesSite(t *testing.T, mb *member, ns, name, host, code string) *unstructured.Unstructured {
	t.Helper()
	u := create(t, mb, "pages.atrium.dev/v1alpha1", "GitLabPagesSite", ns, name, map[string]any{
		"spec": map[string]any{"project": "physics/atlas-site", "hostname": host},
	})
	if err := unstructured.SetNestedField(u.Object, code, "status", "verification", "code"); err != nil {
		t.Fatal(err)
	}
	if err := mb.env.Client.Status().Update(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// GitLab's verification record is published beside a hostname the
// namespace holds, with the code from the site's status, kept apart from
// the hostname's own records, and removed with the site; a namespace that
// does not hold the hostname gets no record, and a hand-made TXT record
// at the hostname is no conflict.
func TestPagesVerificationRecord(t *testing.T) {
	skipShort(t)
	a := members["member-a"]
	namespace(t, a, "pages")
	namespace(t, a, "pages-squatter")
	host := "atlas.pages." + zone
	record := "_gitlab-pages-verification-code." + host
	code := "0123456789abcdef0123456789abcdef"
	c := claim(t, host, "member-a", "pages")
	defer release(t, c)
	if err := dns.Update(zone, []string{host + `. 60 IN TXT "v=spf1 -all"`}, nil); err != nil {
		t.Fatal(err)
	}

	squat := pagesSite(t, a, "pages-squatter", "atlas", host, "ffffffffffffffffffffffffffffffff")
	defer del(t, a, squat)
	site := pagesSite(t, a, "pages", "atlas", host, code)
	ing := ingress(t, a, "pages", "atlas", "192.0.2.44", host)
	defer del(t, a, ing)

	waitRecords(t, record, mdns.TypeTXT, "gitlab-pages-verification-code="+code)
	cond := waitCondition(t, host, "Registered")
	waitRecords(t, host, mdns.TypeA, "192.0.2.44")
	if !strings.Contains(cond.Message, "TXT") {
		t.Errorf("condition = %+v", cond)
	}
	waitEvent(t, a, "pages-squatter", "atlas", "DNSNotClaimed")

	del(t, a, site)
	waitRecords(t, record, mdns.TypeTXT)
	waitRecords(t, host, mdns.TypeA, "192.0.2.44")
	if got := lookup(t, host, mdns.TypeTXT); len(got) != 1 || got[0] != "v=spf1 -all" {
		t.Errorf("the hand-made TXT record at the hostname = %v", got)
	}
}
