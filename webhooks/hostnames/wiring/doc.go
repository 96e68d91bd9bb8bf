// Package wiring assembles the hostnames webhook on a manager: the hub
// connection, the policy engine kept in step with the cluster, the admission
// handler and the claims releaser. The binary, the fleet tests and the
// benchmark all run exactly this.
package wiring
