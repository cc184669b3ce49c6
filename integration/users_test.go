package integration

// Helpers for tests that run as real unprivileged users against a mount
// made by root with --allow-other: setpriv gives a command another uid and
// no capabilities at all, and a holder started that way makes sockets that
// belong to that user.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
)

// Two users that exist nowhere but in these tests: setpriv needs no
// passwd entry, and neither does the kernel.
const (
	userA = 60001
	userB = 60002
)

// setpriv is the command prefix that runs as uid with no capabilities
// (none inheritable, none ambient, an empty bounding set) and no groups.
// Extra arguments go before the command, to grant capabilities back.
func setpriv(uid int, extra ...string) []string {
	id := fmt.Sprint(uid)
	argv := []string{"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"}
	if len(extra) == 0 {
		extra = []string{"--inh-caps=-all", "--bounding-set=-all"}
	}
	return append(argv, extra...)
}

// asUser runs a bash script as uid with no capabilities and returns its
// combined output and exit status.
func asUser(t *testing.T, uid int, script string) (string, int) {
	t.Helper()
	return netnstest.RunArgv(t, append(setpriv(uid), "bash", "-c", script))
}

func mustAsUser(t *testing.T, uid int, script string) string {
	t.Helper()
	out, code := asUser(t, uid, script)
	if code != 0 {
		t.Fatalf("as uid %d: %s: exit %d: %s", uid, script, code, out)
	}
	return out
}

// userPython finds a python3 that another user may run: the one on PATH
// may live in root's home (pyenv), which other users cannot enter.
func userPython(t *testing.T) string {
	t.Helper()
	netnstest.Require(t, "setpriv", "python3")
	cands := []string{"/usr/bin/python3", "/usr/local/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		if _, code := netnstest.RunArgv(t, append(setpriv(userA), p, "-c", "")); code == 0 {
			return p
		}
	}
	if netnstest.InCI() {
		t.Fatal("no python3 that an unprivileged user can run")
	}
	t.Skip("no python3 that an unprivileged user can run")
	return ""
}

// holderAs starts a socket holder running as uid, so that its sockets
// belong to uid.
func holderAs(t *testing.T, uid int) *netnstest.Holder {
	t.Helper()
	return netnstest.NewHolderCmd(t, append(setpriv(uid), userPython(t))...)
}

// publicMount mounts the tree as root with --allow-other on a directory
// that every user can reach, and returns it with the log of the mount.
func publicMount(t *testing.T, b netlinkio.Backend) (string, *netnstest.LogBuffer) {
	t.Helper()
	return publicMountNetns(t, b, netnstest.NetnsIno(t, "/proc/self/ns/net"))
}

// publicMountNetns is publicMount of one namespace, or of all (0).
func publicMountNetns(t *testing.T, b netlinkio.Backend, netns uint64) (string, *netnstest.LogBuffer) {
	t.Helper()
	dir, err := os.MkdirTemp("", "inetcr-public-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if b == nil {
		b = testBackend(t)
	}
	logs := &netnstest.LogBuffer{}
	// Cleanups run last first, so the directory is removed after the unmount.
	t.Cleanup(func() { os.Remove(dir) })
	netnstest.MountTree(t, dir, inetcrfs.Options{Backend: b, AllowOther: true, Logger: logs.Logger(), Netns: netns})
	return dir, logs
}

// quietLogger drops a mount's records unless INETCR_TEST_LOG is set, when
// they go to stderr.
func quietLogger() *slog.Logger {
	if os.Getenv("INETCR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// countingHandler counts records by message, for the soak test, which
// makes too many to keep.
type countingHandler struct {
	mu     sync.Mutex
	counts map[string]int
	last   map[string]string // the last record of each message but "change"
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }

// WithAttrs drops what Logger.With adds (the caller, the socket): a
// record's own attributes are enough to tell a refusal's reason.
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts, h.last = map[string]int{}, map[string]string{}
	}
	h.counts[r.Message]++
	if r.Message != "change" {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		h.last[r.Message] = b.String()
	}
	return nil
}
