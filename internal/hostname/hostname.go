package hostname

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits from RFC 1035: a name is at most 253 characters in its usual
// written form (255 octets on the wire), a label at most 63.
const (
	MaxLength      = 253
	MaxLabelLength = 63
)

// Hostname is a normalized hostname: lower case, ASCII (internationalized
// labels in their punycode "xn--" form), no trailing dot. A wildcard keeps its
// leading "*." in Name.
type Hostname struct {
	Name     string
	Wildcard bool
}

func (h Hostname) String() string { return h.Name }

// Options says what a caller accepts beyond plain hostnames.
type Options struct {
	// AllowWildcard accepts a leftmost "*" label ("*.example.org").
	AllowWildcard bool
}

// Error says what is wrong with a hostname, in words a user can act on.
type Error struct {
	Input  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("hostname %q: %s", e.Input, e.Reason) }

// profile converts internationalized names the way browsers and resolvers
// look them up (UTS #46 mapping, then IDNA2008 checks), without the length
// checks, which Normalize does itself to report them clearly.
var profile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.CheckHyphens(false), // checked by checkLabel, with clearer messages
	idna.CheckJoiners(true),
	idna.StrictDomainName(false), // ASCII rules are checked by checkLabel, with clearer messages
	idna.Transitional(false),
)

// Normalize returns the canonical form of a hostname, or an *Error.
func Normalize(input string, opts Options) (Hostname, error) {
	fail := func(format string, args ...any) (Hostname, error) {
		return Hostname{}, &Error{Input: input, Reason: fmt.Sprintf(format, args...)}
	}
	s := strings.TrimSpace(input)
	if s != input {
		return fail("has leading or trailing spaces")
	}
	if s == "" {
		return fail("is empty")
	}
	if !utf8.ValidString(s) {
		return fail("is not valid UTF-8")
	}
	if strings.HasPrefix(s, "[") || strings.Contains(s, ":") {
		return fail("is an IP address or has a port; give a DNS name")
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(s, ".")); err == nil {
		return fail("is an IP address; give a DNS name")
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" || strings.HasSuffix(s, ".") {
		return fail("ends with an empty label")
	}

	wildcard := false
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		if !opts.AllowWildcard {
			return fail("is a wildcard; wildcards are not allowed here")
		}
		wildcard, s = true, rest
	}
	if strings.Contains(s, "*") {
		return fail("may contain \"*\" only as its whole first label (\"*.example.org\")")
	}

	ascii, err := profile.ToASCII(s)
	if err != nil {
		return fail("is not a valid internationalized domain name: %v", err)
	}
	ascii = strings.ToLower(ascii)
	// An A-label must decode to a valid U-label again; otherwise two
	// spellings could name one host.
	if again, err := profile.ToASCII(ascii); err != nil || again != ascii {
		return fail("is not a valid internationalized domain name: its ASCII form %q does not convert back", ascii)
	}

	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return fail("has a single label; give a fully qualified name such as www.example.org")
	}
	for _, l := range labels {
		if err := checkLabel(l); err != "" {
			return fail("label %q %s", l, err)
		}
	}
	if l, scripts, u := checkScripts(ascii); l != "" {
		return fail("label %q (%q) mixes scripts (%s); a name that mixes scripts can pass for another, so it is refused", l, u, strings.Join(scripts, ", "))
	}
	if isNumeric(labels[len(labels)-1]) {
		return fail("ends in an all-numeric label, which no top-level domain is")
	}
	name := ascii
	if wildcard {
		name = "*." + ascii
	}
	if len(name) > MaxLength {
		return fail("is %d characters long; the most is %d", len(name), MaxLength)
	}
	h := Hostname{Name: name, Wildcard: wildcard}
	if n := len(ClaimName(h)); n > MaxLength {
		return fail("is a wildcard over a %d-character domain; the most for a wildcard is %d", len(ascii), MaxLength-len(WildcardLabel)-1)
	}
	return h, nil
}

// checkLabel applies the letter-digit-hyphen rule to one ASCII label and
// returns what is wrong, or "".
func checkLabel(l string) string {
	switch {
	case l == "":
		return "is empty (two dots in a row)"
	case len(l) > MaxLabelLength:
		return fmt.Sprintf("is %d characters long; the most is %d", len(l), MaxLabelLength)
	case l[0] == '-' || l[len(l)-1] == '-':
		return "starts or ends with a hyphen"
	case len(l) >= 4 && l[2:4] == "--" && !strings.HasPrefix(l, "xn--"):
		// Reserved by IDNA2008 for encodings; keeping them out also keeps
		// ClaimName collision-free.
		return "has hyphens in its third and fourth places, which are reserved"
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Sprintf("has the character %q; use letters, digits and hyphens", c)
		}
	}
	return ""
}

func isNumeric(l string) bool {
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return l != ""
}

// WildcardLabel stands for "*" where a name may not hold one: in claim
// names, and in the names of the DNS operator's ownership records. Its
// hyphens in the third and fourth places make it a label Normalize never
// returns, so nothing written for a wildcard collides with what is written
// for a hostname.
const WildcardLabel = "ww--wildcard"

// ClaimName is the name of the HostnameClaim object for a normalized
// hostname: the hostname itself (already a valid object name), with a
// wildcard's "*" spelled as a reserved label. It is injective, which is what
// makes creating the claim an atomic reservation of the hostname.
func ClaimName(h Hostname) string {
	if rest, ok := strings.CutPrefix(h.Name, "*."); ok {
		return WildcardLabel + "." + rest
	}
	return h.Name
}

// ParseClaimName is the inverse of ClaimName.
func ParseClaimName(name string) (Hostname, bool) {
	if rest, ok := strings.CutPrefix(name, WildcardLabel+"."); ok {
		return Hostname{Name: "*." + rest, Wildcard: true}, true
	}
	if strings.HasPrefix(name, "*") {
		return Hostname{}, false
	}
	return Hostname{Name: name}, true
}
