package v1alpha1

// What a claim means, in one place: the hostnames webhook decides with it
// who may use a hostname, the DNS operator whose records to publish.

// HeldBy reports whether the claim belongs to a namespace of a cluster and
// is not being released. A tentative claim is held by its namespace: the
// admission that made it may go on with it.
func (c *HostnameClaim) HeldBy(cluster, namespace string) bool {
	return c.Spec.Cluster == cluster && c.Spec.Namespace == namespace && c.DeletionTimestamp.IsZero()
}

// Tentative reports whether the claim is a wildcard whose admission is
// still looking for overlapping claims; it holds no names yet.
func (c *HostnameClaim) Tentative() bool {
	return c.Labels[TentativeLabel] != ""
}

// InForce reports whether the claim gives its cluster the hostname now:
// it is not being released and not tentative. The namespace it is held by
// is then Spec.Namespace.
func (c *HostnameClaim) InForce(cluster string) bool {
	return c.Spec.Cluster == cluster && c.DeletionTimestamp.IsZero() && !c.Tentative()
}
