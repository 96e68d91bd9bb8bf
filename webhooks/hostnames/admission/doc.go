// Package admission is the hostnames webhook: for every object that carries
// hostnames it normalizes them, applies policy (the Project tier's domains,
// admins' Rego constraints) and reserves new hostnames at the hub.
package admission
