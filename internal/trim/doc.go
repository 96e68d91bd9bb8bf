// Package trim holds what the operators' cache transforms share: keeping
// in a cache, of the metadata a tenant writes, only what a change of it
// needs to be seen, and one copy of the strings many objects repeat.
package trim
