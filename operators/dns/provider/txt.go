package provider

import (
	"context"
	"strconv"
	"strings"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
)

// quotedTXT gives the PowerDNS API TXT records as it takes them, one
// quoted string each ("…"), and reads them back unquoted, as the rfc2136
// provider does: records the operator publishes itself beside a hostname
// (a Pages site's verification record) are then the same on every
// provider, and a sync finds nothing to change. The TXT registry's own
// records are quoted already and read either way.
type quotedTXT struct {
	edprovider.Provider
}

func (p quotedTXT) Records(ctx context.Context) ([]*endpoint.Endpoint, error) {
	eps, err := p.Provider.Records(ctx)
	for _, ep := range eps {
		if ep.RecordType != endpoint.RecordTypeTXT {
			continue
		}
		for i, t := range ep.Targets {
			if s, err := strconv.Unquote(t); err == nil && strings.HasPrefix(t, `"`) {
				ep.Targets[i] = s
			}
		}
	}
	return eps, err
}

func (p quotedTXT) ApplyChanges(ctx context.Context, c *plan.Changes) error {
	// A copy: the caller (the registry's cache) keeps the records as the
	// operator spells them.
	quoted := &plan.Changes{Create: quote(c.Create), UpdateOld: quote(c.UpdateOld), UpdateNew: quote(c.UpdateNew), Delete: quote(c.Delete)}
	return p.Provider.ApplyChanges(ctx, quoted)
}

func quote(list []*endpoint.Endpoint) []*endpoint.Endpoint {
	out := make([]*endpoint.Endpoint, len(list))
	for i, ep := range list {
		out[i] = ep
		if ep.RecordType != endpoint.RecordTypeTXT {
			continue
		}
		q := ep.DeepCopy()
		for j, t := range q.Targets {
			if !strings.HasPrefix(t, `"`) {
				q.Targets[j] = strconv.Quote(t)
			}
		}
		out[i] = q
	}
	return out
}
