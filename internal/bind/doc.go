// Package bind runs a real BIND9 name server (Debian's named) on loopback,
// primary for test zones that accept TSIG-signed updates and transfers, for
// the DNS operator's tests, its benchmark and `make run`.
package bind
