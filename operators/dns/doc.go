// Command dns is the DNS operator: it publishes every hostname this cluster
// holds a fleet claim for in the fleet's DNS zone, with external-dns as a
// library (plan, TXT registry owned by the cluster, a provider chosen by
// configuration).
package main
