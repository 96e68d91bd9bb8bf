package gitlabfake

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestVerificationOverDNS verifies a domain through DNSResolver against a
// DNS server on loopback, as make run does against its BIND.
func TestVerificationOverDNS(t *testing.T) {
	var mu sync.Mutex
	records := map[string]string{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		mu.Lock()
		v, ok := records[strings.ToLower(q.Question[0].Name)]
		mu.Unlock()
		switch {
		case ok && q.Question[0].Qtype == dns.TypeTXT:
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		case !ok:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	fake := Start(WithDNSServer(pc.LocalAddr().String()))
	t.Cleanup(fake.Close)
	_, tok := fake.AddUser("alice", false)
	mustDo(t, errOf(fake.AddProject("alice", "homepage", Public)))
	c, err := gitlab.NewClient(tok, gitlab.WithBaseURL(fake.URL), gitlab.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := c.PagesDomains.CreatePagesDomain("alice/homepage", &gitlab.CreatePagesDomainOptions{Domain: gitlab.Ptr("alice.web.atrium.test")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verify(t, c, "alice/homepage", d.Domain); err != nil || got.Verified {
		t.Fatalf("NXDOMAIN: %+v, %v", got, err)
	}
	mu.Lock()
	records["_gitlab-pages-verification-code.alice.web.atrium.test."] = "gitlab-pages-verification-code=" + d.VerificationCode
	mu.Unlock()
	got, err := verify(t, c, "alice/homepage", d.Domain)
	if err != nil || !got.Verified {
		t.Fatalf("with the record: %+v, %v", got, err)
	}
	if n := fake.Count("PUT /projects/:id/pages/domains/:domain/verify"); n != 2 {
		t.Fatalf("%d verify requests", n)
	}
}
