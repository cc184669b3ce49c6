package exact_test

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// TestReadSocketWritesTheOneAsked: a read of one socket of a process that
// holds many gets that socket's record alone, also while other reads of
// the same process run, of other sockets and of the same one, and
// leaves no socket with storage in the asked map.
func TestReadSocketWritesTheOneAsked(t *testing.T) {
	h := netnstest.NewHolder(t)
	inodes := h.Many(200, "127.0.0.1")
	e := open(t)
	all, err := e.ReadProcess(h.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < len(inodes) {
		t.Fatalf("the whole process: %d records, want at least %d", len(all), len(inodes))
	}
	var wg sync.WaitGroup
	for i := range 16 {
		ino := inodes[i%12] // four of them read twice at once
		wg.Go(func() {
			for range 20 {
				got, err := e.ReadSocket(h.Pid(), all[ino], ino)
				if err != nil {
					t.Error(err)
					return
				}
				found := 0
				for _, g := range got {
					if g == ino {
						found++
					}
				}
				// Concurrent reads' records may come along (their
				// storage is the same socket's, or the iterator met
				// one twice while others came and went); never the
				// whole process.
				if found == 0 || len(got) > 32 {
					t.Errorf("socket %d: %d records of it among %d", ino, found, len(got))
					return
				}
			}
		})
	}
	wg.Wait()
	if left, counted, err := e.AskedLeft(); err != nil || left != 0 || counted != 0 {
		t.Fatalf("%d sockets keep storage (%d counted) after the reads: %v", left, counted, err)
	}
}

// TestOneSocketNeedsNoPass: what the tree asks first of a socket it has
// not listed (its namespace, for a lookup in a tree of one namespace, and
// its image) is read from that socket alone, not from a pass over every
// socket of the host; a socket the holder index does not know yet is
// found by a pass.
func TestOneSocketNeedsNoPass(t *testing.T) {
	h := netnstest.NewHolder(t)
	inodes := h.Many(50, "127.0.0.1")
	e := open(t)
	var self unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(h.Pid())+"/ns/net", &self); err != nil {
		t.Fatal(err)
	}
	before := e.Passes()
	for _, ino := range inodes[:5] {
		ns, err := e.Netns(ino)
		if err != nil || ns != self.Ino {
			t.Fatalf("netns of %d: %d, %v; want %d", ino, ns, err, self.Ino)
		}
		img, err := e.Dump(ino)
		if err != nil || img.Family != unix.AF_INET {
			t.Fatalf("dump of %d: %v", ino, err)
		}
	}
	if n := e.Passes() - before; n != 0 {
		t.Fatalf("%d passes over every task's files for 5 sockets' namespaces and images, want none", n)
	}
}

// TestDumpAllIsOnePass: `dump --all` lists, then dumps what it listed;
// the images come from the listing's pass, not from a second one.
func TestDumpAllIsOnePass(t *testing.T) {
	h := netnstest.NewHolder(t)
	inodes := h.Many(50, "127.0.0.1")
	e := open(t)
	before := e.Passes()
	_, dump, err := e.ListBatch()
	if err != nil {
		t.Fatal(err)
	}
	var dumped atomic.Int64
	dump(inodes, 2, func(ino uint64, img *image.Image, err error) {
		if err != nil || img == nil {
			t.Errorf("socket %d: %v", ino, err)
			return
		}
		dumped.Add(1)
	})
	if n := e.Passes() - before; n != 1 || dumped.Load() != int64(len(inodes)) {
		t.Fatalf("%d passes and %d images for a listing and the dump of its %d sockets, want 1 pass", n, dumped.Load(), len(inodes))
	}
}

// TestDumpOfAReusedDescriptor: a socket its holder closed, its number now
// another socket's descriptor, is no socket (ENOENT), never the other
// socket's image, though the holder index still names that descriptor;
// and a socket whose holder was killed is no socket either, at once.
func TestDumpOfAReusedDescriptor(t *testing.T) {
	e := open(t)
	h := netnstest.NewHolder(t)
	a := h.Socket("udp")
	a.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 51)
	ttl, _ := image.LookupOption("ipopt", "ttl")
	if img := netnstest.Dump(t, e, a.Inode); img.Values[ttl.Attr].Num != 51 {
		t.Fatalf("ttl %d, want 51", img.Values[ttl.Attr].Num)
	}
	a.Close()
	b := h.Socket("udp")
	b.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 52)
	if b.Fd != a.Fd {
		t.Fatalf("the new socket has descriptor %d, not the closed one's %d", b.Fd, a.Fd)
	}
	if img, err := e.Dump(a.Inode); !errors.Is(err, image.ErrNoSocket) {
		t.Fatalf("the closed socket: %v (ttl %v), want no such socket", err, img)
	}
	if img := netnstest.Dump(t, e, b.Inode); img.Values[ttl.Attr].Num != 52 {
		t.Fatalf("the new socket: ttl %d, want 52", img.Values[ttl.Attr].Num)
	}
	h.Stop()
	if _, err := e.Dump(b.Inode); !errors.Is(err, image.ErrNoSocket) {
		t.Fatalf("the socket of a killed holder: %v, want no such socket", err)
	}
	if left, _, err := e.AskedLeft(); err != nil || left != 0 {
		t.Fatalf("%d sockets keep storage: %v", left, err)
	}
}
