// Package apis holds the API types that Atrium's components share, one
// folder per API group and version. These packages import only
// apimachinery-level code so that every binary can depend on them cheaply.
package apis
