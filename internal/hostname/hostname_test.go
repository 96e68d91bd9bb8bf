package hostname

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNormalize(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	for _, tc := range []struct {
		in       string
		wildcard bool // allow wildcards
		want     string
		err      string // fragment of the error, "" when valid
	}{
		{in: "www.example.org", want: "www.example.org"},
		{in: "WWW.Example.ORG", want: "www.example.org"},
		{in: "www.example.org.", want: "www.example.org"},
		{in: "bücher.example", want: "xn--bcher-kva.example"},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{in: "ＷＷＷ.example.org", want: "www.example.org"}, // full-width letters map
		{in: "a-b.c-d.example", want: "a-b.c-d.example"},
		{in: "123.example.org", want: "123.example.org"},
		{in: long63 + ".example.org", want: long63 + ".example.org"},
		{in: "*.example.org", wildcard: true, want: "*.example.org"},
		{in: "*.Example.org.", wildcard: true, want: "*.example.org"},
		// One script per label, or a combination a language is written in.
		{in: "пример.example", want: "xn--e1afmkfd.example"},
		{in: "παράδειγμα.example", want: "xn--hxajbheg2az3al.example"},
		{in: "日本語とカタカナabc.example", want: "xn--abc-vb4b9ma3lrd4032dpxc355l.example"},
		{in: "한국어abc.example", want: "xn--abc-lt8l948gbwt.example"},
		{in: "bücher-2.example", want: "xn--bcher-2-n2a.example"},
		{in: "*.пример.example", wildcard: true, want: "*.xn--e1afmkfd.example"},
		// Look-alikes: a Cyrillic "а" or "о" in a Latin name, a Greek
		// omicron, also in punycode and under a wildcard.
		{in: "аpple.example", err: "mixes scripts (Cyrillic, Latin)"},
		{in: "gооgle.example", err: "mixes scripts"},
		{in: "www.pаypal.example", err: "mixes scripts"},
		{in: "xn--pple-43d.example", err: "mixes scripts (Cyrillic, Latin)"},
		{in: "ωμεγα-ο.example", want: "xn----ylbfh8aw8d.example"},
		{in: "micrοsoft.example", err: "mixes scripts (Greek, Latin)"},
		{in: "*.аpple.example", wildcard: true, err: "mixes scripts"},
		{in: "пример-test.example", err: "mixes scripts"},

		{in: "", err: "is empty"},
		{in: " www.example.org", err: "spaces"},
		{in: "localhost", err: "single label"},
		{in: "example", err: "single label"},
		{in: "10.0.0.1", err: "IP address"},
		{in: "10.0.0.1.", err: "IP address"},
		{in: "::1", err: "IP address"},
		{in: "[2001:db8::1]", err: "IP address"},
		{in: "www.example.org:8080", err: "port"},
		{in: "www..example.org", err: ""},
		{in: ".example.org", err: ""},
		{in: "www.example.org..", err: "empty label"},
		{in: "-www.example.org", err: "hyphen"},
		{in: "www-.example.org", err: "hyphen"},
		{in: "ab--cd.example.org", err: "reserved"},
		{in: "ww--wildcard.example.org", err: "reserved"},
		{in: "xn--zz.example.org", err: "internationalized"},
		{in: "www_x.example.org", err: ""},
		{in: "www.example.123", err: "all-numeric"},
		{in: long63 + "a.example.org", err: "63"},
		{in: strings.Repeat("abcdefghi.", 25) + "example.org", err: "the most is 253"},
		{in: "*.example.org", err: "wildcards are not allowed"},
		{in: "www.*.example.org", wildcard: true, err: "whole first label"},
		{in: "*www.example.org", wildcard: true, err: "whole first label"},
		{in: "*.org", wildcard: true, err: "single label"},
		{in: "*." + strings.Repeat("abcdefghi.", 24) + "org", wildcard: true, err: "wildcard over"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			h, err := Normalize(tc.in, Options{AllowWildcard: tc.wildcard})
			if tc.want != "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if h.Name != tc.want || h.Wildcard != strings.HasPrefix(tc.want, "*.") {
					t.Fatalf("got %+v, want %q", h, tc.want)
				}
				return
			}
			var herr *Error
			if !errors.As(err, &herr) {
				t.Fatalf("got %+v, %v; want an *Error", h, err)
			}
			if !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.in) {
				t.Fatalf("error %q should name the input and mention %q", err, tc.err)
			}
		})
	}
}

func TestClaimName(t *testing.T) {
	for _, tc := range []struct{ host, claim string }{
		{"www.example.org", "www.example.org"},
		{"*.example.org", "ww--wildcard.example.org"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
	} {
		h, err := Normalize(tc.host, Options{AllowWildcard: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := ClaimName(h); got != tc.claim {
			t.Errorf("ClaimName(%s) = %s, want %s", tc.host, got, tc.claim)
		}
		if back, ok := ParseClaimName(ClaimName(h)); !ok || back != h {
			t.Errorf("ParseClaimName(%s) = %+v, %v", ClaimName(h), back, ok)
		}
	}
	// The wildcard's claim name is not a hostname anybody can claim.
	if _, err := Normalize("ww--wildcard.example.org", Options{}); err == nil {
		t.Fatal("the reserved wildcard label was accepted as a hostname")
	}
}

// FuzzNormalize checks the properties the rest of Atrium relies on for any
// input: a normalized hostname normalizes to itself, fits the limits, has a
// claim name the API server accepts, and that claim name maps back to it.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"www.example.org", "*.example.org", "Bücher.Example.", "10.0.0.1", "xn--bcher-kva.example", "a..b", "ab--c.d",
		"аpple.example", "*.пример.example", "xn--pple-43d.example", "*.xn--e1afmkfd.example", "日本語とカタカナabc.example", "*.*.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := Normalize(in, Options{AllowWildcard: true})
		if err != nil {
			return
		}
		again, err := Normalize(h.Name, Options{AllowWildcard: true})
		if err != nil || again != h {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, h.Name, again.Name, err)
		}
		if len(h.Name) > MaxLength {
			t.Fatalf("%q too long", h.Name)
		}
		name := ClaimName(h)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Fatalf("claim name %q of %q is not an object name: %v", name, in, errs)
		}
		if back, ok := ParseClaimName(name); !ok || back != h {
			t.Fatalf("claim name %q does not map back to %q", name, h.Name)
		}
		if h.Wildcard != strings.HasPrefix(h.Name, "*.") || strings.Contains(strings.TrimPrefix(h.Name, "*."), "*") {
			t.Fatalf("%q: wildcard %v but name %q", in, h.Wildcard, h.Name)
		}
		if l, scripts, _ := checkScripts(strings.TrimPrefix(h.Name, "*.")); l != "" {
			t.Fatalf("%q admitted with label %s mixing %v", in, l, scripts)
		}
	})
}
