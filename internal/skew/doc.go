// Package skew checks at start-up that the CRDs a binary serves or reads are
// at least the schema versions it was built for, so that no component runs
// against a CRD older than it needs (docs/fleet-status.md, version skew).
package skew
