// Package components is the one list of Atrium's components, from which the
// fleet bring-up, the benchmarks and the tests name them.
package components
