package nodes_test

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/nodes"
	"golang.org/x/sys/unix"
)

// TestUnlinkMembershipPending checks the pending leave of docs/tree.md
// ("Unlink") from inside the test process, which unlinks and lives on.
func TestUnlinkMembershipPending(t *testing.T) {
	f, mnt := setup(t)
	dir := filepath.Join(mnt, "1001", "membership")
	g, h := filepath.Join(dir, "239.1.2.3@lo"), filepath.Join(dir, "239.4.5.6@lo")
	netnstest.MustSh(t, "touch "+g+" && printf 'mode include\\nsources 10.0.0.1\\n' > "+g)
	text := netnstest.ReadFile(t, g)

	// Unlink and create again, as tar -x does: nothing changes.
	if err := os.Remove(g); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat after unlink by the same process: %v", err)
	}
	if len(f.get(udp).Memberships) != 1 {
		t.Fatal("the leave was not kept pending")
	}
	w, err := os.OpenFile(g, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("create after unlink: %v", err)
	}
	if _, err := w.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(nodes.LeaveDelay + 200*time.Millisecond)
	if got := netnstest.ReadFile(t, g); got != text {
		t.Fatalf("after unlink and create: %q, want %q", got, text)
	}

	// Unlink by a process that lives on: the leave comes by the deadline.
	if err := os.Remove(g); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if n := f.memberships(udp, 2*nodes.LeaveDelay, 0); n != 0 {
		t.Fatalf("%d memberships %v after an unlink", n, time.Since(start))
	}
	if took := time.Since(start); took < nodes.LeaveDelay/2 {
		t.Errorf("the leave came after %v, before the deadline", took)
	}

	// Another process's request carries the leave out first.
	netnstest.MustSh(t, "touch "+h)
	if err := os.Remove(h); err != nil {
		t.Fatal(err)
	}
	if out := netnstest.MustSh(t, "ls "+dir); strings.Contains(out, "239.4.5.6") {
		t.Fatalf("ls by another process still lists the group: %q", out)
	}
	if n := len(f.get(udp).Memberships); n != 0 {
		t.Fatalf("%d memberships after the listing", n)
	}

	// Unlink of a group the socket is not in fails at once.
	if err := os.Remove(h); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("second unlink: %v", err)
	}
	netnstest.MustSh(t, "touch "+h)
	if names := netnstest.Names(t, dir); !slices.Equal(names, []string{"239.4.5.6@lo"}) {
		t.Fatalf("membership: %v", names)
	}
}

// TestUnmountCarriesOutLeaves: a leave still pending when the mount goes
// away is carried out, not lost.
func TestUnmountCarriesOutLeaves(t *testing.T) {
	f := newFake()
	f.add(udp, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	dir := t.TempDir()
	srv, err := inetcrfs.Mount(dir, inetcrfs.Options{Backend: f, Logger: slog.New(slog.NewTextHandler(dbgOut(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	g := filepath.Join(dir, "1001", "membership", "239.1.2.3@lo")
	netnstest.MustSh(t, "touch "+g)
	if err := os.Remove(g); err != nil {
		t.Fatal(err)
	}
	if err := srv.Unmount(); err != nil {
		t.Fatal(err)
	}
	if n := f.memberships(udp, nodes.LeaveDelay/2, 0); n != 0 {
		t.Fatalf("%d memberships after the unmount", n)
	}
}
