package procs

import "runtime"

// LiveHeap is this process's Go heap in use right after a collection:
// what it keeps, for the benchmarks that report the memory an object
// costs (the difference of two readings).
func LiveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
