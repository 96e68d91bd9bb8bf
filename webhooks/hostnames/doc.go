// Command hostnames is the hostnames webhook of a member cluster: every
// object that carries hostnames is admitted only if its new hostnames pass
// policy and are reserved for its namespace at the hub; a controller in the
// same binary releases the claims whose objects are gone.
package main
