package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/pkg/apis/externaldns"
	"sigs.k8s.io/external-dns/plan"
	"sigs.k8s.io/external-dns/provider/rfc2136"

	"github.com/atrium-dev/atrium/internal/bind"
)

// Every record built directly is the record the library parses from the
// same zone-file line; forms the direct path does not take come from the
// text, and values the text refuses are left out, as the library leaves
// them out.
func TestBuildRRMatchesText(t *testing.T) {
	tests := []struct {
		name, typ, target string
		ttl               uint32
	}{
		{"www.example.test", "A", "192.0.2.1", 300},
		{"www.example.test.", "A", "192.0.2.1", 0},
		{"*.example.test", "A", "192.0.2.1", 60},
		{"WWW.Example.Test", "A", "192.0.2.1", 60},
		{"www.example.test", "A", "::ffff:192.0.2.1", 60},
		{"www.example.test", "A", "2001:db8::1", 60},
		{"www.example.test", "A", "192.0.2.300", 60},
		{"www.example.test", "AAAA", "2001:db8::1", 60},
		{"www.example.test", "AAAA", "::ffff:192.0.2.1", 60},
		{"www.example.test", "AAAA", "192.0.2.1", 60},
		{"www.example.test", "CNAME", "lb.example.test", 60},
		{"www.example.test", "CNAME", "lb.example.test.", 60},
		{"_atrium-a.www.example.test", "TXT", `"heritage=external-dns,external-dns/owner=c1,external-dns/resource=ingress/ns/www"`, 300},
		{"_atrium-a.www.example.test", "TXT", `"with spaces and ; semicolons"`, 300},
		{"_atrium-a.www.example.test", "TXT", `"escaped \" quote"`, 300},
		{"_atrium-a.www.example.test", "TXT", `"back\\slash"`, 300},
		{"_atrium-a.www.example.test", "TXT", `"` + strings.Repeat("x", 300) + `"`, 300},
		{"_atrium-a.www.example.test", "TXT", `"two" "strings"`, 300},
		{"_atrium-a.www.example.test", "TXT", `unquoted`, 300},
		{"_atrium-a.www.example.test", "TXT", `""`, 300},
		{"sub.example.test", "NS", "ns.elsewhere.test", 300},
		{"mx.example.test", "MX", "10 mail.example.test", 300},
		{"we ird.example.test", "A", "192.0.2.1", 300},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.target, func(t *testing.T) {
			want, werr := dns.NewRR(fmt.Sprintf("%s %d %s %s", tc.name, tc.ttl, tc.typ, tc.target))
			got := buildRR(tc.name, tc.typ, tc.ttl, tc.target)
			if werr != nil || want == nil {
				if got != nil {
					t.Fatalf("built %v from a line that does not parse (%v)", got, werr)
				}
				return
			}
			if got == nil {
				t.Fatalf("nothing built, want %v", want)
			}
			if got.String() != want.String() {
				t.Fatalf("built %q, want %q", got.String(), want.String())
			}
			a, b := make([]byte, 1024), make([]byte, 1024)
			na, errA := dns.PackRR(got, a, 0, nil, false)
			nb, errB := dns.PackRR(want, b, 0, nil, false)
			if errA != nil || errB != nil || string(a[:na]) != string(b[:nb]) {
				t.Fatalf("wire forms differ: %x (%v) and %x (%v)", a[:na], errA, b[:nb], errB)
			}
		})
	}
}

// The same changes written by the library's provider and by ours leave
// two servers with the same zones, through chunks of several messages and
// two zones one inside the other; and all of a call's messages go over one
// connection.
func TestWriterMatchesTheLibrary(t *testing.T) {
	needNamed(t)
	ctx := context.Background()
	zones := []string{"example.test", "sub.example.test"}
	start := func() (*bind.Server, Config) {
		srv, err := bind.Start(ctx, bind.Options{Zones: zones})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		secret := filepath.Join(t.TempDir(), "tsig")
		if err := os.WriteFile(secret, []byte(srv.KeySecret), 0o600); err != nil {
			t.Fatal(err)
		}
		return srv, Config{Provider: RFC2136, Zones: zones, Server: srv.Addr, TSIGKeyName: srv.KeyName,
			TSIGAlgorithm: bind.KeyAlgorithm, TSIGSecretFile: secret, BatchSize: 3}
	}
	libSrv, libCfg := start()
	ourSrv, ourCfg := start()

	// The library's provider, configured as New configures it.
	cfg := externaldns.NewConfig()
	cfg.RFC2136Host, cfg.RFC2136Port = []string{"127.0.0.1"}, libSrv.Port
	cfg.RFC2136Zone = slices.Clone(zones)
	cfg.RFC2136TSIGKeyName, cfg.RFC2136TSIGSecret, cfg.RFC2136TSIGSecretAlg = libSrv.KeyName, libSrv.KeySecret, libCfg.TSIGAlgorithm
	cfg.RFC2136AXFR, cfg.RFC2136MinTTL, cfg.RFC2136BatchChangeSize = true, 0, libCfg.BatchSize
	lib, err := rfc2136.New(ctx, cfg, libCfg.DomainFilter())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(ctx, ourCfg)
	if err != nil {
		t.Fatal(err)
	}
	ours := p.(*rfc2136Writer)
	dials := 0
	dial := ours.dial
	ours.dial = func(ctx context.Context) (*dns.Conn, error) { dials++; return dial(ctx) }

	ep := endpoint.NewEndpointWithTTL
	steps := []*plan.Changes{
		{Create: []*endpoint.Endpoint{
			ep("a.example.test", "A", 300, "192.0.2.1", "192.0.2.2"),
			ep("_atrium-a.a.example.test", "TXT", 300, `"heritage=external-dns,external-dns/owner=c1"`),
			ep("b.sub.example.test", "AAAA", 60, "2001:db8::1"),
			ep("c.example.test", "CNAME", 0, "a.example.test"),
			ep("*.example.test", "A", 120, "192.0.2.9"),
			ep("d.sub.example.test", "TXT", 60, `"one" "two"`),
			ep("e.example.test", "A", 300, "not an address"),
			ep("outside.other.test", "A", 300, "192.0.2.1"),
		}},
		{
			UpdateOld: []*endpoint.Endpoint{ep("a.example.test", "A", 300, "192.0.2.1", "192.0.2.2"), ep("c.example.test", "CNAME", 0, "a.example.test")},
			UpdateNew: []*endpoint.Endpoint{ep("a.example.test", "A", 600, "192.0.2.3"), ep("c.example.test", "CNAME", 30, "b.sub.example.test")},
			Delete:    []*endpoint.Endpoint{ep("b.sub.example.test", "AAAA", 60, "2001:db8::1"), ep("*.example.test", "A", 120, "192.0.2.9")},
		},
	}
	for i, c := range steps {
		libErr, ourErr := lib.ApplyChanges(ctx, c), ours.ApplyChanges(ctx, c)
		if (libErr == nil) != (ourErr == nil) {
			t.Fatalf("step %d: library: %v, ours: %v", i, libErr, ourErr)
		}
		for _, z := range zones {
			a, b := transfer(t, libSrv, z), transfer(t, ourSrv, z)
			if !slices.Equal(a, b) {
				t.Fatalf("step %d, zone %s:\nlibrary:\n%s\nours:\n%s", i, z, strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
			if len(a) < 3 {
				t.Fatalf("step %d, zone %s: too few records: %v", i, z, a)
			}
		}
	}
	if dials != len(steps) {
		t.Fatalf("%d connections for %d calls, want one each", dials, len(steps))
	}
}

// transfer reads a zone's records, without its SOA (whose serial counts
// the messages), as sorted text.
func transfer(t *testing.T, srv *bind.Server, zone string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(zone))
	key := dns.Fqdn(srv.KeyName)
	m.SetTsig(key, dns.HmacSHA256, 300, 0)
	tr := &dns.Transfer{TsigSecret: map[string]string{key: srv.KeySecret}}
	envs, err := tr.In(m, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for e := range envs {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		for _, rr := range e.RR {
			if rr.Header().Rrtype != dns.TypeSOA {
				out = append(out, rr.String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
