package netnstest

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// LogBuffer keeps a mount's log records, one text line each, for tests
// that check what was logged (changes, refusals, FUSE requests with
// Debug). With INETCR_TEST_LOG set, the records also go to stderr.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("INETCR_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return l.buf.Write(p)
}

// Logger logs into the buffer as text.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, nil))
}

// Lines returns the records that contain every one of the strings.
func (l *LogBuffer) Lines(want ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.buf.String()) {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// Reset forgets the records kept so far.
func (l *LogBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}
