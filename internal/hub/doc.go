// Package hub connects a member cluster's components to the fleet's hub,
// where HostnameClaims and MemberClusters live.
package hub
