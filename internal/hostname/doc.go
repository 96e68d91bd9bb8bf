// Package hostname normalizes and checks the hostnames that tenants publish,
// so that every component (admission, DNS) compares the same canonical form
// and a hostname has exactly one HostnameClaim name.
package hostname
