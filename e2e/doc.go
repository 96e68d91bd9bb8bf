// Package e2e tells Atrium's user stories end to end: the real binaries, run
// as separate processes against a real API server, driven the way users
// drive them. Each story is a function with an input struct, so later
// stories (hostnames, DNS, pages, volumes) can reuse them.
package e2e
