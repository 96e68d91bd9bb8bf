// Package procs runs Atrium's binaries as separate processes, the way they
// run in a cluster, for `make run` and the e2e suite: output to a log file,
// SIGTERM on stop, and a report when one dies unexpectedly.
package procs
