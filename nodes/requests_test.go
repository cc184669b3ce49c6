package nodes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// requestLog collects the FUSE requests a mount logs with Debug set.
type requestLog struct{ netnstest.LogBuffer }

// count returns how many requests of the given kinds (e.g. "LOOKUP n1 ",
// "READ ") were logged since the last call, and forgets them.
func (l *requestLog) count(kinds ...string) int {
	n := 0
	for _, kind := range kinds {
		n += len(l.Lines("rx ", ": "+kind))
	}
	l.Reset()
	return n
}

func mountLogged(t *testing.T, f *fake) (string, *requestLog) {
	return mountLoggedWith(t, inetcrfs.Options{Backend: f})
}

func mountLoggedWith(t *testing.T, opts inetcrfs.Options) (string, *requestLog) {
	t.Helper()
	log := &requestLog{}
	dir := t.TempDir()
	opts.Debug, opts.Logger = true, log.Logger()
	netnstest.MountTree(t, dir, opts)
	return dir, log
}

// TestListingMakesNoNodes checks that ls -f of the root gives the kernel
// no socket directories: READDIRPLUS gets entries without nodes, so that
// listing 100,000 sockets keeps nothing per socket in the mount. Were the
// entries given with nodes, the kernel would not look a socket up again
// right after the listing.
func TestListingMakesNoNodes(t *testing.T) {
	f := newFake()
	for ino := uint64(5000); ino < 5300; ino++ {
		f.add(ino, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	}
	mnt, log := mountLogged(t, f)
	if got := len(netnstest.Names(t, mnt)); got != 300 {
		t.Fatalf("listed %d sockets, want 300", got)
	}
	if n := log.count("READDIRPLUS"); n == 0 {
		t.Fatal("no READDIRPLUS logged: the check below would prove nothing")
	}
	if _, err := os.Stat(filepath.Join(mnt, "5123")); err != nil {
		t.Fatal(err)
	}
	if n := log.count(`LOOKUP n1  \"5123\"`); n != 1 {
		t.Errorf("stat of a socket right after ls -f made %d lookups, want 1", n)
	}
	if _, err := os.ReadFile(filepath.Join(mnt, "5123", "ipopt", "ttl")); err != nil {
		t.Fatal(err)
	}
}

// TestUnchangedReadsStayInKernel checks that reads of a file are served by
// the kernel's page cache, the first one included (the tree stores the
// content there at the open), so that no READ reaches the tree, and that
// a read after a change does reach it.
func TestUnchangedReadsStayInKernel(t *testing.T) {
	f := newFake()
	f.add(udp, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	mnt, log := mountLogged(t, f)
	ttl := filepath.Join(mnt, "1001", "ipopt", "ttl")
	for i := range 3 {
		if got := netnstest.ReadFile(t, ttl); got != "64\n" {
			t.Fatalf("read %d of ttl: %q", i, got)
		}
		if n := log.count("READ "); n != 0 {
			t.Errorf("read %d of an unchanged file reached the tree %d times", i, n)
		}
	}
	netnstest.MustSh(t, "echo 9 > "+ttl)
	if got := netnstest.ReadFile(t, ttl); got != "9\n" {
		t.Fatalf("ttl after echo 9: %q", got)
	}
	if n := log.count("READ "); n == 0 {
		t.Error("a changed file was not read from the tree")
	}
}

// TestPruneForgetsIdleSockets checks that the mount has the kernel forget
// the files of sockets beyond the ones it keeps, and that a pruned socket
// still reads as before.
func TestPruneForgetsIdleSockets(t *testing.T) {
	f := newFake()
	const n = 50
	for ino := uint64(5000); ino < 5000+n; ino++ {
		f.add(ino, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	}
	mnt, log := mountLoggedWith(t, inetcrfs.Options{Backend: f, Prune: inetcrfs.Prune{Keep: 10, Idle: time.Millisecond, Every: 20 * time.Millisecond}})
	for ino := 5000; ino < 5000+n; ino++ {
		netnstest.ReadFile(t, fmt.Sprintf("%s/%d/ipopt/ttl", mnt, ino))
	}
	if awaitForgets(log, n-10) == 0 {
		t.Fatalf("the kernel forgot nothing of %d sockets, 10 kept", n)
	}
	for ino := 5000; ino < 5000+n; ino++ {
		if got := netnstest.ReadFile(t, fmt.Sprintf("%s/%d/ipopt/ttl", mnt, ino)); got != "64\n" {
			t.Fatalf("%d/ipopt/ttl after pruning: %q", ino, got)
		}
	}
}
