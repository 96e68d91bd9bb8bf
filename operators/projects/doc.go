// Command projects is the projects operator: it turns each Project into a
// namespace with RBAC, quota, limits and network isolation, and keeps them so.
package main
