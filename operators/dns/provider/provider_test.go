package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/external-dns/endpoint"

	"github.com/atrium-dev/atrium/internal/bind"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "tsig")
	if err := os.WriteFile(secret, []byte("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		err  string // substring; empty means valid
	}{
		{"rfc2136", Config{Provider: RFC2136, Zones: []string{"example.test"}, Server: "127.0.0.1:53", TSIGKeyName: "k", TSIGAlgorithm: "hmac-sha256", TSIGSecretFile: secret}, ""},
		{"rfc2136 without key", Config{Provider: RFC2136, Zones: []string{"example.test"}, Server: "127.0.0.1:53"}, "tsig"},
		{"rfc2136 without port", Config{Provider: RFC2136, Zones: []string{"example.test"}, Server: "ns1", TSIGKeyName: "k", TSIGSecretFile: secret}, "host:port"},
		{"no zone", Config{Provider: InMemory}, "zone"},
		{"pdns without URL", Config{Provider: PDNS, Zones: []string{"example.test"}, Server: "ns1:8081", PDNSAPIKeyFile: secret}, "URL"},
		{"unknown", Config{Provider: "route53", Zones: []string{"example.test"}}, "unknown provider"},
		{"inmemory", Config{Provider: InMemory, Zones: []string{"example.test"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.err)
			}
			if err == nil {
				if _, err := New(context.Background(), tc.cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
			}
		})
	}
}

// A missing or empty secret file is an error that does not print a secret.
func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{empty, filepath.Join(dir, "missing")} {
		cfg := Config{Provider: RFC2136, Zones: []string{"example.test"}, Server: "127.0.0.1:53", TSIGKeyName: "k", TSIGAlgorithm: "hmac-sha256", TSIGSecretFile: path}
		if _, err := New(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", path)
		}
	}
}

// The grouped Records reads a real zone exactly as the library's rfc2136
// provider does.
func TestGroupedRecordsMatchTheLibrary(t *testing.T) {
	needNamed(t)
	ctx := context.Background()
	srv, err := bind.Start(ctx, bind.Options{Zones: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Update("example.test", []string{
		"www.example.test. 60 IN A 192.0.2.1",
		"www.example.test. 60 IN A 192.0.2.2",
		"www.example.test. 60 IN AAAA 2001:db8::1",
		"alias.example.test. 120 IN CNAME www.example.test.",
		`a-www.example.test. 60 IN TXT "heritage=external-dns,external-dns/owner=c1"`,
		`long.example.test. 60 IN TXT "part one" "part two"`,
		"sub.example.test. 60 IN NS ns.elsewhere.test.",
	}, nil); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "tsig")
	if err := os.WriteFile(secret, []byte(srv.KeySecret), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(ctx, Config{Provider: RFC2136, Zones: []string{"example.test"}, Server: srv.Addr,
		TSIGKeyName: srv.KeyName, TSIGAlgorithm: bind.KeyAlgorithm, TSIGSecretFile: secret})
	if err != nil {
		t.Fatal(err)
	}
	w, ok := p.(*rfc2136Writer)
	if !ok {
		t.Fatalf("the rfc2136 provider is not wrapped: %T", p)
	}
	g := w.groupedRecords
	ours, err := g.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := g.Provider.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	render := func(eps []*endpoint.Endpoint) []string {
		var out []string
		for _, ep := range eps {
			out = append(out, fmt.Sprintf("%s %s %d %v", ep.DNSName, ep.RecordType, ep.RecordTTL, ep.Targets))
		}
		slices.Sort(out)
		return out
	}
	if a, b := render(ours), render(theirs); !slices.Equal(a, b) {
		t.Fatalf("grouped:\n%s\nlibrary:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if len(ours) < 7 {
		t.Fatalf("only %d record sets read: %v", len(ours), render(ours))
	}
}

// needNamed skips a test that starts BIND in -short runs, and fails it
// where BIND is missing (make tools installs it).
func needNamed(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts named")
	}
	if !bind.Installed() {
		t.Fatal("named is not installed: run `make tools`")
	}
}
