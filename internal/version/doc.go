// Package version says which build of Atrium a binary is: the version
// (from the repository's git tags), the git revision, the build date and
// the Go toolchain. An admin upgrading a fleet needs to know what runs
// where, so every binary prints it (--version), logs it when it starts and
// exports it as the atrium_build_info metric; the release process stamps it
// in with -ldflags -X (the Makefile and .ko.yaml), and an unstamped build
// (go build, go run, go test) falls back to what the Go toolchain recorded.
package version
