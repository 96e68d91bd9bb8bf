// Package report makes each component report its version, build and health
// to its cluster's MemberCluster at the hub, one entry per component by
// server-side apply, without ever holding the component's own work up.
package report
