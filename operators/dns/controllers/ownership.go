package controllers

import (
	"maps"

	"sigs.k8s.io/external-dns/endpoint"
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
