// Package provider builds the external-dns provider the DNS operator writes
// through, from the operator's configuration: rfc2136 (BIND, Knot,
// PowerDNS; TSIG), pdns (the PowerDNS HTTP API) or inmemory (development).
package provider
