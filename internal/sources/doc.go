// Package sources knows every kind of object that carries hostnames and how
// to read them. Adding a kind is one small file that registers a Source.
package sources
