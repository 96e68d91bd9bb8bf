package testenv

import (
	"os"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// SetupLogging gives controller-runtime a logger for in-process components:
// errors only, unless ATRIUM_TEST_VERBOSE is set, so test output stays
// readable while a failing run can still be looked into.
func SetupLogging() {
	level := zapcore.Level(2)
	if os.Getenv("ATRIUM_TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(level)))
}
