package provider

import (
	"context"
	"strings"

	"github.com/miekg/dns"
	"sigs.k8s.io/external-dns/endpoint"
	edprovider "sigs.k8s.io/external-dns/provider"
)

// lister is what the library's rfc2136 provider offers besides Records:
// the raw records of its zones, read by zone transfer (AXFR).
type lister interface {
	List() ([]dns.RR, error)
}

// groupedRecords wraps the rfc2136 provider with a Records that groups the
// transferred records into endpoints through a map. The library's own
// Records compares each record with every endpoint found before it, which
// costs seconds of CPU per read at 10,000 hostnames (20,000 records with
// their ownership records); the result is the same.
type groupedRecords struct {
	edprovider.Provider
	list lister
}

func (p groupedRecords) Records(context.Context) ([]*endpoint.Endpoint, error) {
	rrs, err := p.list.List()
	if err != nil {
		return nil, err
	}
	type key struct{ name, typ string }
	index := map[key]*endpoint.Endpoint{}
	var out []*endpoint.Endpoint
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			continue
		}
		typ, values := recordData(rr)
		if typ == "" {
			continue
		}
		k := key{strings.TrimSuffix(h.Name, "."), typ}
		if ep, ok := index[k]; ok {
			ep.Targets = append(ep.Targets, values...)
			continue
		}
		ep := endpoint.NewEndpointWithTTL(h.Name, typ, endpoint.TTL(h.Ttl), values...)
		index[k] = ep
		out = append(out, ep)
	}
	return out, nil
}

// recordData returns the external-dns record type and the values of a
// record, or no type for the types external-dns does not read.
func recordData(rr dns.RR) (string, []string) {
	switch v := rr.(type) {
	case *dns.A:
		return endpoint.RecordTypeA, []string{v.A.String()}
	case *dns.AAAA:
		return endpoint.RecordTypeAAAA, []string{v.AAAA.String()}
	case *dns.CNAME:
		return endpoint.RecordTypeCNAME, []string{v.Target}
	case *dns.TXT:
		return endpoint.RecordTypeTXT, v.Txt
	case *dns.NS:
		return endpoint.RecordTypeNS, []string{v.Ns}
	case *dns.PTR:
		return endpoint.RecordTypePTR, []string{v.Ptr}
	case *dns.DNAME:
		return "DNAME", []string{v.Target}
	default:
		return "", nil
	}
}
