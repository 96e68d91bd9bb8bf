// Package policysync keeps the hostnames webhook's policy engine in step
// with the cluster: ConstraintTemplates and their constraints, in
// Gatekeeper's format, are loaded as admins create, change and delete them.
package policysync
