package manager

import (
	"os"
	"runtime/debug"
	"strconv"
)

// MemoryLimitEnv names the variable every Deployment sets to its
// container's memory limit in bytes (a resourceFieldRef of limits.memory).
// GOMEMLIMIT itself cannot be set so: the limit is where the kernel kills
// the process, and the Go runtime's soft limit must sit below it.
const MemoryLimitEnv = "ATRIUM_MEMORY_LIMIT"

// memoryLimitShare is the share of the container's limit the Go runtime
// keeps its memory under. Go collects garbage when the heap has grown by
// as much as it held after the last collection (GOGC=100), so a process
// whose caches hold 300 MiB may reach 600 MiB between two collections;
// near the soft limit it collects sooner instead, which a component's
// small allocation rate makes cheap. The tenth left is for what the
// runtime does not count: the binary's own pages and memory not yet
// returned to the kernel.
const memoryLimitShare = 0.9

// SetMemoryLimit gives the Go runtime a soft memory limit of 90% of the
// container's, read from MemoryLimitEnv, unless GOMEMLIMIT sets one
// already or the variable is missing or not a positive number of bytes.
// It returns the limit set, or 0. Without a limit on the container, the
// kubelet gives the node's allocatable memory: the soft limit is then far
// away and changes nothing.
func SetMemoryLimit() int64 {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return 0
	}
	limit, err := strconv.ParseInt(os.Getenv(MemoryLimitEnv), 10, 64)
	if err != nil || limit <= 0 {
		return 0
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	return soft
}
