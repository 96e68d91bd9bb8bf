package hostname

import (
	"slices"
	"strings"
	"unicode"
)

// Look-alikes. A label that mixes scripts ("аpple" with a Cyrillic "а")
// can pass for a name someone else holds, and browsers show such names in
// punycode for that reason. Atrium refuses them at the "highly
// restrictive" level of Unicode's security mechanisms (UTS #39, section
// 5.2): the characters of a label, apart from those common to all scripts
// (digits, the hyphen) and combining marks, are of one script, or of one of
// the combinations a language is written in: Latin with Han, Hiragana and
// Katakana (Japanese), with Han and Bopomofo (Chinese), or with Han and
// Hangul (Korean). A label written wholly in one script that happens to
// look like a name in another (all-Cyrillic "асе") is not caught by this
// rule; no table of such confusables ships with Go.

// scriptSets are the combinations of scripts one label may use.
var scriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// mixedScripts returns the scripts of a Unicode label when they are more
// than one of the allowed combinations admits, or nil.
func mixedScripts(label string) []string {
	var scripts []string
	for _, r := range label {
		s := scriptOf(r)
		if s == "" || slices.Contains(scripts, s) {
			continue
		}
		scripts = append(scripts, s)
	}
	if len(scripts) <= 1 {
		return nil
	}
	for _, set := range scriptSets {
		if subset(scripts, set) {
			return nil
		}
	}
	slices.Sort(scripts)
	return scripts
}

// scriptOf is the Unicode script of r, or "" for characters of every
// script (Common, Inherited).
func scriptOf(r rune) string {
	if r < 0x80 {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
		return ""
	}
	for _, name := range commonScripts {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Unknown"
}

// commonScripts are looked up first: they are the ones hostnames use.
var commonScripts = []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew", "Armenian", "Georgian", "Devanagari", "Thai", "Bopomofo"}

func subset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// checkScripts checks every internationalized label of an ASCII name.
func checkScripts(ascii string) (label string, scripts []string, unicodeLabel string) {
	for _, l := range strings.Split(ascii, ".") {
		if !strings.HasPrefix(l, "xn--") {
			continue
		}
		u, err := profile.ToUnicode(l)
		if err != nil {
			continue // Normalize has refused it already
		}
		if s := mixedScripts(u); s != nil {
			return l, s, u
		}
	}
	return "", nil, ""
}
