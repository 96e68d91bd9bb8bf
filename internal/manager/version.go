package manager

import (
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/version"
)

// printVersion answers --version: one line on standard output, exit 0.
func printVersion() {
	fmt.Println(version.Get())
	os.Exit(0)
}

// logVersion is the first line a binary logs, so that its logs say which
// build wrote them.
func logVersion() {
	ctrl.Log.WithName("setup").Info("build", version.Get().KeysAndValues()...)
}
