// Package server is the myprojects API server: who belongs to which
// Project (roles.go), the read-only storage that answers lists and gets
// for the requesting user (storage.go), and the generic API server that
// serves it with delegated authentication and authorization (server.go).
package server
