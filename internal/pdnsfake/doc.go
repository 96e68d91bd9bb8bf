// Package pdnsfake is a stateful fake of the PowerDNS Authoritative HTTP API
// (v1) subset that external-dns's pdns provider uses — list zones, get a
// zone with its RRsets, patch RRsets — so that the DNS operator's pdns
// configuration is driven by the real client library in tests.
package pdnsfake
