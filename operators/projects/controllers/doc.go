// Package controllers holds the projects operator's reconcilers: Project →
// namespace, RBAC, quota, limits and network isolation, and the ProjectTier
// bookkeeping that rolls tier changes out to every Project on the tier.
package controllers
