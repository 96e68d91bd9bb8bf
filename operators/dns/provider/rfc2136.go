package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
)

// rfc2136Writer is the rfc2136 provider with its own ApplyChanges; zone
// reads stay the library's (groupedRecords).
//
// The library's ApplyChanges spends its time on the client side, not in
// the DNS server: it formats every record as a zone-file line and parses
// it back (dns.NewRR), formats a log line per record even when that level
// is off, and opens a TCP connection for each message. At 10,000 hostnames
// (20,000 records, 100 messages) that made the operator's writes about
// twice as long as sending the same messages, on two cores shared with the
// DNS server. This one builds the records as dns.RR values and sends a
// call's messages one after another over one connection.
//
// What is written is the library's, message for message: creates, then
// updates (the old records removed and the new ones added in the same
// message), then deletes, each in chunks of batchSize endpoints and one
// message per zone; the same TTLs (a record set's own, or none);
// endpoints outside the domain filter left out. Records of a type or value
// the direct path does not build are built from text as the library builds
// them, so they come out the same. A failed message does not stop the
// others; the error names every failure, as the library's does.
type rfc2136Writer struct {
	groupedRecords
	server string
	// zones are the zones' names, fully qualified, most labels first, so
	// that a name goes to the deepest zone that holds it.
	zones  []string
	filter *endpoint.DomainFilter
	// keyName (fully qualified), alg (dns.HmacSHA256, …) and secret sign
	// every message.
	keyName, alg, secret string
	batchSize            int
	// dial opens the connection a call's messages go over.
	dial func(ctx context.Context) (*dns.Conn, error)
}

// tsigAlgorithms are the TSIG algorithms the library's provider takes,
// by the names --tsig-algorithm takes.
var tsigAlgorithms = map[string]string{
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha224": dns.HmacSHA224,
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha512": dns.HmacSHA512,
}

func newRFC2136Writer(records groupedRecords, c Config, secret string, filter *endpoint.DomainFilter) (*rfc2136Writer, error) {
	alg, ok := tsigAlgorithms[c.TSIGAlgorithm]
	if !ok {
		return nil, fmt.Errorf("%s is not a supported TSIG algorithm", c.TSIGAlgorithm)
	}
	zones := make([]string, 0, len(c.Zones))
	for _, z := range c.Zones {
		zones = append(zones, dns.Fqdn(strings.ToLower(z)))
	}
	slices.SortStableFunc(zones, func(a, b string) int { return dns.CountLabel(b) - dns.CountLabel(a) })
	batch := c.BatchSize
	if batch <= 0 {
		batch = defaultBatchSize
	}
	w := &rfc2136Writer{
		groupedRecords: records, server: c.Server, zones: zones, filter: filter,
		keyName: dns.Fqdn(c.TSIGKeyName), alg: alg, secret: secret, batchSize: batch,
	}
	w.dial = func(ctx context.Context) (*dns.Conn, error) {
		return w.client().DialContext(ctx, w.server)
	}
	return w, nil
}

// defaultBatchSize is the library's default of records per message.
const defaultBatchSize = 50

// client is the DNS client of one call: TCP, the library's timeouts (the
// package's defaults), and the update key.
func (w *rfc2136Writer) client() *dns.Client {
	return &dns.Client{Net: "tcp", TsigSecret: map[string]string{w.keyName: w.secret}}
}

// ApplyChanges writes the changes as the library's provider does (see
// rfc2136Writer), over one connection: a connection that fails is closed
// and the next message opens another.
func (w *rfc2136Writer) ApplyChanges(ctx context.Context, changes *plan.Changes) error {
	msgs := w.messages(changes)
	if len(msgs) == 0 {
		return nil
	}
	c := w.client()
	var conn *dns.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	var errs []error
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if conn == nil {
			var err error
			if conn, err = w.dial(ctx); err != nil {
				errs = append(errs, fmt.Errorf("connecting to %s: %w", w.server, err))
				continue
			}
		}
		m.SetTsig(w.keyName, w.alg, tsigFudge, time.Now().Unix())
		// A dns.Conn signs each message after the first with the MAC of
		// the one before, as the messages of one zone transfer are
		// signed; each update stands alone, so each gets a fresh
		// dns.Conn over the same connection.
		resp, _, err := c.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: conn.Conn})
		switch {
		case err != nil:
			// What the server made of it is unknown, and so is the
			// connection's state: start the next message afresh.
			_ = conn.Close()
			conn = nil
			errs = append(errs, fmt.Errorf("update of zone %s: %w", m.Question[0].Name, err))
		case resp.Rcode != dns.RcodeSuccess:
			errs = append(errs, fmt.Errorf("update of zone %s: bad return code: %s", m.Question[0].Name, dns.RcodeToString[resp.Rcode]))
		}
	}
	if len(errs) > 0 {
		return edprovider.NewSoftErrorf("RFC2136 had errors in one or more of its batches: %v", errors.Join(errs...))
	}
	return nil
}

// tsigFudge is the clock skew the signatures allow, the library's.
const tsigFudge = 300

// messages are the update messages of the changes, in the order they are
// sent (see rfc2136Writer).
func (w *rfc2136Writer) messages(c *plan.Changes) []*dns.Msg {
	var out []*dns.Msg
	chunks := func(eps []*endpoint.Endpoint, add func(m *dns.Msg, i int, ep *endpoint.Endpoint)) {
		for start := 0; start < len(eps); start += w.batchSize {
			byZone := map[string]*dns.Msg{}
			var order []*dns.Msg
			for i, ep := range eps[start:min(start+w.batchSize, len(eps))] {
				if !w.filter.Match(ep.DNSName) {
					continue
				}
				zone := w.zoneOf(ep.DNSName)
				m := byZone[zone]
				if m == nil {
					m = new(dns.Msg)
					m.SetUpdate(zone)
					byZone[zone] = m
					order = append(order, m)
				}
				add(m, start+i, ep)
			}
			for _, m := range order {
				if len(m.Ns) > 0 {
					out = append(out, m)
				}
			}
		}
	}
	chunks(c.Create, func(m *dns.Msg, _ int, ep *endpoint.Endpoint) {
		m.Insert(recordsOf(ep, addTTL(ep)))
	})
	chunks(c.UpdateNew, func(m *dns.Msg, i int, ep *endpoint.Endpoint) {
		if i < len(c.UpdateOld) {
			old := c.UpdateOld[i]
			m.Remove(recordsOf(old, uint32(max(old.RecordTTL, 0))))
		}
		m.Insert(recordsOf(ep, addTTL(ep)))
	})
	chunks(c.Delete, func(m *dns.Msg, _ int, ep *endpoint.Endpoint) {
		m.Remove(recordsOf(ep, uint32(max(ep.RecordTTL, 0))))
	})
	return out
}

// addTTL is the TTL of added records: the record set's own, or none (the
// operator sets no minimum).
func addTTL(ep *endpoint.Endpoint) uint32 {
	if ep.RecordTTL.IsConfigured() {
		return uint32(ep.RecordTTL)
	}
	return 0
}

// zoneOf is the deepest configured zone that holds name; a name outside
// all of them goes to the root zone, as with the library (the domain filter
// keeps such names out before that).
func (w *rfc2136Writer) zoneOf(name string) string {
	name = dns.Fqdn(strings.ToLower(name))
	for _, z := range w.zones {
		if dns.IsSubDomain(z, name) {
			return z
		}
	}
	return "."
}

// recordsOf builds the records of an endpoint, one per target, with the
// given TTL. A target the library could not parse is left out, as the
// library leaves it out.
func recordsOf(ep *endpoint.Endpoint, ttl uint32) []dns.RR {
	out := make([]dns.RR, 0, len(ep.Targets))
	for _, t := range ep.Targets {
		if rr := buildRR(ep.DNSName, ep.RecordType, ttl, t); rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

// buildRR builds the record the library would parse from the zone-file
// line "name ttl type target": directly for the plain forms of the record
// types the operator writes (A, AAAA, CNAME, and TXT of one quoted
// string), from the text otherwise. It returns nil where the text does not
// parse.
func buildRR(name, typ string, ttl uint32, target string) dns.RR {
	if plainName(name) {
		hdr := dns.RR_Header{Name: dns.Fqdn(name), Class: dns.ClassINET, Ttl: ttl}
		switch typ {
		case endpoint.RecordTypeA:
			if a, err := netip.ParseAddr(target); err == nil && a.Is4() {
				hdr.Rrtype = dns.TypeA
				return &dns.A{Hdr: hdr, A: net.ParseIP(target)}
			}
		case endpoint.RecordTypeAAAA:
			if a, err := netip.ParseAddr(target); err == nil && a.Is6() && a.Zone() == "" && strings.Contains(target, ":") && !strings.Contains(target, ".") {
				hdr.Rrtype = dns.TypeAAAA
				return &dns.AAAA{Hdr: hdr, AAAA: net.ParseIP(target)}
			}
		case endpoint.RecordTypeCNAME:
			if plainName(target) {
				hdr.Rrtype = dns.TypeCNAME
				return &dns.CNAME{Hdr: hdr, Target: dns.Fqdn(target)}
			}
		case endpoint.RecordTypeTXT:
			if s, ok := plainQuoted(target); ok {
				hdr.Rrtype = dns.TypeTXT
				return &dns.TXT{Hdr: hdr, Txt: []string{s}}
			}
		}
	}
	rr, err := dns.NewRR(fmt.Sprintf("%s %d %s %s", name, ttl, typ, target))
	if err != nil {
		return nil
	}
	return rr
}

// plainName reports whether a name is letters, digits, hyphens,
// underscores and dots, optionally led by a "*" label, and not empty or a
// lone dot: such a name reads from text as itself, made fully qualified.
func plainName(s string) bool {
	if s == "" || s == "." || strings.Contains(s, "..") || strings.HasPrefix(s, ".") {
		return false
	}
	s = strings.TrimPrefix(s, "*.")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// plainQuoted returns the inside of a quoted string of printable ASCII
// without quotes or backslashes inside, of at most 255 characters (one TXT
// string): such a target reads from text as that one string.
func plainQuoted(s string) (string, bool) {
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	in := s[1 : len(s)-1]
	if len(in) > 255 {
		return "", false
	}
	for i := 0; i < len(in); i++ {
		if c := in[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", false
		}
	}
	return in, true
}
