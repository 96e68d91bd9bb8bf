// Package claims reserves hostnames at the hub: one HostnameClaim per
// hostname, created atomically, so that two clusters racing for a hostname
// cannot both win; and releases the claims whose sources are gone.
package claims
