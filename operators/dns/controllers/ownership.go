package controllers

import (
	"context"
	"maps"
	"slices"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
	"sigs.k8s.io/external-dns/registry/mapper"

	"github.com/atrium-dev/atrium/internal/hostname"
)

// Ownership records (the TXT registry's, one per record set, naming the
// cluster that owns it) are named so that no hostname anybody can claim
// has one's name, and no two claimable names share one:
//
//   - txtPrefix puts them under a label of their own that starts with "_"
//     ("_atrium-a.www.example.org" for the A set of www.example.org), which
//     no claimable hostname has (hostnames are letters, digits and
//     hyphens), so no tenant can put a CNAME or anything else there;
//   - txtWildcardReplacement stands for a leading "*" ("*" may only lead a
//     name), and is a label no claimable hostname has (hyphens in its third
//     and fourth places), so "*.example.org" and any one name under it
//     never map to the same record, as the registry's usual "any" would
//     with "any.example.org".
//
// newRegistry configures the TXT registry with both, and ownershipRecords
// names records the same way.
const (
	txtPrefix              = "_atrium-%{record_type}."
	txtWildcardReplacement = hostname.WildcardLabel
)

var txtNames = mapper.NewAffixNameMapper(txtPrefix, "", txtWildcardReplacement)

// ownershipName is the name of the ownership record of a record set.
func ownershipName(dnsName, recordType string) string {
	return txtNames.ToTXTName(dnsName, recordType)
}

// ownershipRecords are the TXT records the registry writes beside new
// record sets, built the same way (name, and labels with this cluster as
// owner), so that they can be written before the record sets themselves.
func ownershipRecords(creates []*endpoint.Endpoint, owner string) []*endpoint.Endpoint {
	out := make([]*endpoint.Endpoint, 0, len(creates))
	for _, ep := range creates {
		labels := endpoint.NewLabels()
		maps.Copy(labels, ep.Labels)
		labels[endpoint.OwnerLabelKey] = owner
		txt := endpoint.NewEndpoint(ownershipName(ep.DNSName, ep.RecordType), endpoint.RecordTypeTXT, labels.Serialize(true, false, nil))
		txt.WithSetIdentifier(ep.SetIdentifier)
		out = append(out, txt)
	}
	return out
}

// skipWritten stands between the TXT registry and the provider. While
// written holds records the operator has just written itself (the
// ownership records it writes first), creates of those are left out of
// what the registry sends, so nothing is written twice.
type skipWritten struct {
	edprovider.Provider
	written map[string]bool
}

func recordKey(ep *endpoint.Endpoint) string {
	return ep.DNSName + "\x00" + ep.RecordType + "\x00" + ep.SetIdentifier + "\x00" + ep.Targets.String()
}

func (p *skipWritten) ApplyChanges(ctx context.Context, c *plan.Changes) error {
	if len(p.written) == 0 {
		return p.Provider.ApplyChanges(ctx, c)
	}
	rest := *c
	rest.Create = slices.DeleteFunc(slices.Clone(c.Create), func(ep *endpoint.Endpoint) bool { return p.written[recordKey(ep)] })
	return p.Provider.ApplyChanges(ctx, &rest)
}
