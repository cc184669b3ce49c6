package exact_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// TestDumpBatchSocketClosedMeanwhile: a socket its holder closes after the
// batch's pass, before its image is built, keeps the image of the pass:
// every row, TCP's too, is read from the program's record, and nothing is
// asked of the socket (a duplicate of it would fail: once, TCP's rows
// were asked, and such a socket was no socket, ENOENT).
func TestDumpBatchSocketClosedMeanwhile(t *testing.T) {
	for _, family := range []int{4, 6} {
		t.Run(map[int]string{4: "AF_INET", 6: "AF_INET6"}[family], func(t *testing.T) {
			h := netnstest.NewHolder(t)
			socket := h.Socket
			if family == 6 {
				socket = h.Socket6
			}
			first, second := socket("tcp"), socket("tcp")
			second.SetInt(unix.SOL_TCP, unix.TCP_KEEPIDLE, 77)
			e := open(t)
			errs, imgs := map[uint64]error{}, map[uint64]*image.Image{}
			// One worker: the first socket's image is done, and the
			// second closed, before the second's is built.
			e.DumpBatch([]uint64{first.Inode, second.Inode}, 1, func(ino uint64, img *image.Image, err error) {
				errs[ino], imgs[ino] = err, img
				if ino == first.Inode {
					second.Close()
				}
			})
			if err := errs[first.Inode]; err != nil {
				t.Fatalf("the socket still open: %v", err)
			}
			if err := errs[second.Inode]; err != nil {
				t.Fatalf("the socket closed meanwhile: %v, want the image of the pass", err)
			}
			if o, _ := image.LookupOption("tcpopt", "keepidle"); imgs[second.Inode].Values[o.Attr].Num != 77 {
				t.Errorf("the socket closed meanwhile: keepidle %d, the holder set 77", imgs[second.Inode].Values[o.Attr].Num)
			}
		})
	}
}

// TestHoldersSayCommAndCgroup: the holders name each process's command,
// as the stock engine's do, and the holder found is the one whose cgroup
// info writes (the lines restore --match reads), whether they come from a
// fresh pass or, with none, from the stock engine's holder index.
func TestHoldersSayCommAndCgroup(t *testing.T) {
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	cgroup := func(pid int) string {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
		if err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(string(b), "0::")
		return strings.TrimSpace(after)
	}
	want := cgroup(h.Pid())
	if want == "" {
		t.Fatal("the holder has no cgroup v2 path: nothing to compare")
	}
	for _, path := range []string{"a fresh pass", "the holder index"} {
		t.Run(path, func(t *testing.T) {
			e := open(t)
			if path == "a fresh pass" {
				if _, err := e.List(); err != nil {
					t.Fatal(err)
				}
			}
			hs, err := e.Holders(s.Inode)
			if err != nil {
				t.Fatal(err)
			}
			if len(hs) != 1 || hs[0].Pid != h.Pid() || hs[0].Fd != s.Fd || hs[0].Comm == "" {
				t.Fatalf("holders %+v, want pid %d fd %d and a command", hs, h.Pid(), s.Fd)
			}
			// The cgroup is read where it is shown, for the holder found.
			if got := netlinkio.HolderCgroup(hs[0].Pid); got != want {
				t.Fatalf("cgroup of holder %d: %q, want %q", hs[0].Pid, got, want)
			}
		})
	}
}
