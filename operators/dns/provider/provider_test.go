package provider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
