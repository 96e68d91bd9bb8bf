package controllers

import (
	"context"
	"maps"
	"slices"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
	"sigs.k8s.io/external-dns/registry/mapper"
)

// txtWildcardReplacement stands for a leading "*" in the names of
// ownership records (a "*" may only lead a name). newRegistry configures
// the TXT registry with it, and ownershipRecords names records the same way.
const txtWildcardReplacement = "any"

var txtNames = mapper.NewAffixNameMapper("", "", txtWildcardReplacement)

// ownershipRecords are the TXT records the registry writes beside new
// record sets, built the same way (name, and labels with this cluster as
// owner), so that they can be written before the record sets themselves.
func ownershipRecords(creates []*endpoint.Endpoint, owner string) []*endpoint.Endpoint {
	out := make([]*endpoint.Endpoint, 0, len(creates))
	for _, ep := range creates {
		labels := endpoint.NewLabels()
		maps.Copy(labels, ep.Labels)
		labels[endpoint.OwnerLabelKey] = owner
		txt := endpoint.NewEndpoint(txtNames.ToTXTName(ep.DNSName, ep.RecordType), endpoint.RecordTypeTXT, labels.Serialize(true, false, nil))
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
