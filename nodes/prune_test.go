package nodes_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// TestPruneBoundsKernelSockets checks that the mount has the kernel forget
// sockets beyond Max however recently they were used (a tar of a big
// tree), and that a pruned socket's files keep their times: an unchanged
// file's mtime stays, a changed one's moves, as if it had never been
// pruned (sock.freeze).
func TestPruneBoundsKernelSockets(t *testing.T) {
	f := newFake()
	const n = 40
	for ino := uint64(5000); ino < 5000+n; ino++ {
		f.add(ino, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	}
	mnt, log := mountLoggedWith(t, inetcrfs.Options{Backend: f, Prune: inetcrfs.Prune{Keep: 5, Max: 10, Idle: time.Hour, Every: 20 * time.Millisecond}})
	ttl := func(ino int) string { return fmt.Sprintf("%s/%d/ipopt/ttl", mnt, ino) }
	mtime := func(ino int) time.Time {
		fi, err := os.Stat(ttl(ino))
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	before := map[int]time.Time{}
	for ino := 5000; ino < 5000+n; ino++ {
		netnstest.ReadFile(t, ttl(ino))
		before[ino] = mtime(ino)
	}
	if awaitForgets(log, n-10) == 0 {
		t.Fatalf("the kernel forgot nothing of %d sockets used within the hour, at most 10 kept", n)
	}
	time.Sleep(300 * time.Millisecond) // past the tree's TTL: the idle ones are frozen
	f.set(5001, func(img *image.Image) {
		o, _ := image.LookupOption("ipopt", "ttl")
		img.Values[o.Attr] = image.Value{Num: 99}
	})
	for ino := 5000; ino < 5000+n; ino++ {
		want := "64\n"
		if ino == 5001 {
			want = "99\n"
		}
		if got := netnstest.ReadFile(t, ttl(ino)); got != want {
			t.Fatalf("%d/ipopt/ttl after pruning: %q, want %q", ino, got, want)
		}
		m := mtime(ino)
		if ino == 5001 && !m.After(before[ino]) {
			t.Errorf("%d/ipopt/ttl changed while pruned: mtime %v, was %v", ino, m, before[ino])
		}
		if ino != 5001 && !m.Equal(before[ino]) {
			t.Errorf("%d/ipopt/ttl unchanged: mtime %v, was %v", ino, m, before[ino])
		}
	}
}

// awaitForgets waits, up to 5 s, for the kernel to send want FORGET or
// BATCH_FORGET requests, and returns how many it sent.
func awaitForgets(log *requestLog, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	forgot := 0
	for forgot < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		forgot += log.count("FORGET", "BATCH_FORGET")
	}
	return forgot
}
