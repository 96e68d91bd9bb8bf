package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Module is the Go module Atrium's binaries are built from.
const Module = "github.com/atrium-dev/atrium"

// Set at link time, for example
//
//	go build -ldflags "-X github.com/atrium-dev/atrium/internal/version.version=v0.1.0" ./operators/volumes
//
// (the Makefile's LDFLAGS and .ko.yaml do this for every binary). They are
// variables, not constants, because -X can only set string variables.
var (
	version   string
	revision  string
	buildDate string
)

// Dev is the version of a build that was neither stamped nor built from a
// git checkout the Go toolchain could read.
const Dev = "v0.0.0-dev"

// Unknown stands for a revision or build date nobody recorded.
const Unknown = "unknown"

// Info describes one build.
type Info struct {
	// Component is the binary's name, atrium-<folder with dashes> (such as
	// atrium-operators-volumes), as internal/components names it.
	Component string
	// Version is the stamped version (git describe of the tree built, such
	// as v0.1.0 or v0.1.0-12-gabc1234-dirty); unstamped, the version the Go
	// toolchain derived from the checkout, or Dev.
	Version string
	// Revision is the git commit built, Unknown when nobody recorded it.
	Revision string
	// BuildDate is when the build was made (RFC 3339, UTC), Unknown when
	// unstamped.
	BuildDate string
	// GoVersion is the Go toolchain that built it (runtime.Version).
	GoVersion string
	// Platform is the binary's GOOS/GOARCH.
	Platform string
}

// Get is this binary's build.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return info(bi, version, revision, buildDate)
}

// info fills in what was not stamped from the toolchain's build
// information (bi may be nil).
func info(bi *debug.BuildInfo, v, rev, date string) Info {
	i := Info{Version: v, Revision: rev, BuildDate: date,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var modified bool
	if bi != nil {
		i.Component = component(bi.Path)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Revision == "" {
					i.Revision = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		// Since Go 1.24 go build records a version derived from the
		// checkout (a tag, or a pseudo-version of the commit, +dirty when
		// modified); go test and builds outside git say (devel).
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
	}
	if i.Version == "" {
		i.Version = Dev
		if modified {
			i.Version += "+dirty"
		}
	}
	if i.Revision == "" {
		i.Revision = Unknown
	}
	if i.BuildDate == "" {
		i.BuildDate = Unknown
	}
	if i.Component == "" {
		i.Component = "atrium"
	}
	return i
}

// component names a binary after its main package: the package
// github.com/atrium-dev/atrium/operators/volumes is the binary
// atrium-operators-volumes (components.Component.Binary), however the file
// is called (ko names it volumes in an image). Outside Atrium's module, as
// in a test binary, it is empty.
func component(mainPath string) string {
	rel, ok := strings.CutPrefix(mainPath, Module+"/")
	if !ok || rel == "" || strings.HasSuffix(rel, ".test") {
		return ""
	}
	return "atrium-" + strings.ReplaceAll(rel, "/", "-")
}

// String is the line --version prints, such as
//
//	atrium-operators-volumes v0.1.0 (revision 0123456789ab, built 2026-12-01T10:00:00Z, go1.26.8 linux/amd64)
//
// with the revision shortened to 12 hex digits.
func (i Info) String() string {
	rev := i.Revision
	if len(rev) == 40 {
		rev = rev[:12]
	}
	return fmt.Sprintf("%s %s (revision %s, built %s, %s %s)", i.Component, i.Version, rev, i.BuildDate, i.GoVersion, i.Platform)
}

// KeysAndValues are the build's fields for a structured log line
// (logr: log.Info("build", version.Get().KeysAndValues()...)).
func (i Info) KeysAndValues() []any {
	return []any{"component", i.Component, "version", i.Version, "revision", i.Revision, "buildDate", i.BuildDate, "goVersion", i.GoVersion, "platform", i.Platform}
}

// LDFlags are the go build -ldflags that stamp a build (what the
// Makefile's LDFLAGS hold).
func LDFlags(version, revision, buildDate string) string {
	const p = Module + "/internal/version."
	return "-X " + p + "version=" + version + " -X " + p + "revision=" + revision + " -X " + p + "buildDate=" + buildDate
}
