package stock_test

import (
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// dumpAll runs DumpAll and collects what it gave for each inode.
func dumpAll(s *stock.Stock, inodes []uint64) (map[uint64]*image.Image, map[uint64]error) {
	var mu sync.Mutex
	imgs, errs := map[uint64]*image.Image{}, map[uint64]error{}
	netlinkio.DumpAll(s, inodes, 3, func(ino uint64, img *image.Image, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs[ino] = err
		} else {
			imgs[ino] = img
		}
	})
	return imgs, errs
}

func openFds(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// A batch gives every socket the image a dump of it alone gives, closes the
// pidfds it opened, and reports sockets whose holder closed them or exited
// since the index saw them as gone.
func TestDumpAllMatchesDump(t *testing.T) {
	a, b := netnstest.NewHolder(t), netnstest.NewHolder(t)
	joined := a.Socket("udp")
	joined.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": 1})
	tcp := b.Socket("tcp")
	tcp.SetInt(unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	closed := b.Socket("udp")
	inodes := append(a.Many(20, "127.0.0.1"), b.Many(20, "127.0.0.2")...)
	inodes = append(inodes, joined.Inode, tcp.Inode, closed.Inode)

	s := stock.NewStock()
	fds := openFds(t)
	imgs, errs := dumpAll(s, inodes)
	if len(errs) != 0 || len(imgs) != len(inodes) {
		t.Fatalf("%d images, errors %v", len(imgs), errs)
	}
	if n := openFds(t); n != fds {
		t.Errorf("%d fds open after the batch, %d before", n, fds)
	}
	for _, ino := range inodes {
		netnstest.SameImage(t, "socket in a batch", netnstest.Dump(t, s, ino), imgs[ino])
	}
	if len(imgs[joined.Inode].Memberships) != 1 {
		t.Errorf("memberships %+v, want 239.1.2.3 on lo", imgs[joined.Inode].Memberships)
	}

	// The engine's index still names the holders of before: the batch must
	// find them stale and look again rather than fail or dump another socket.
	closed.Close()
	a.Stop()
	fds = openFds(t) // without a's pipes
	imgs, errs = dumpAll(s, inodes)
	for i, ino := range inodes {
		if held := i >= 20 && i < 40 || ino == tcp.Inode; held {
			if errs[ino] != nil {
				t.Errorf("socket %d of the live holder: %v", ino, errs[ino])
			}
		} else if !errors.Is(errs[ino], image.ErrNoSocket) {
			t.Errorf("socket %d: %v, want ErrNoSocket", ino, errs[ino])
		}
	}
	if n := openFds(t); n != fds {
		t.Errorf("%d fds open after the second batch, %d before", n, fds)
	}
}
