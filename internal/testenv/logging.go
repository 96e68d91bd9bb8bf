package testenv

import (
	"bytes"
	"os"
	"sync"

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

// LogBuffer keeps everything an in-process component logs, for suites
// that check what never appears in a log (tokens, secrets). It is safe for
// the component's goroutines to write while a test reads.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
