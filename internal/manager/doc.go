// Package manager builds the controller-runtime manager that every Atrium
// binary runs: one scheme, the common flags, leader election, health and
// readiness probes and metrics, so each main.go holds only what is its own.
package manager
