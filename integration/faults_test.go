package integration

// Faults in the middle of a restore or a dump: the holder exits, the
// socket closes, a membership's interface disappears. Each must end in a
// clear error or a clean success, never a crash, a hang or a leaked
// descriptor; and a mount whose server was killed with SIGKILL is
// recovered by the next `inetcr mount`.

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/splice"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// fdCount counts this process's open descriptors: the mount's server runs
// in it, so a descriptor the engine leaks shows here. go-fuse's splice
// package keeps idle pipe pairs, a cache emptied first, and opens
// /dev/null once, when it makes its first pair: that is done before the
// first count.
func fdCount(t testing.TB) int {
	t.Helper()
	spliceOnce.Do(func() {
		if p, err := splice.Get(); err == nil {
			splice.Done(p)
		}
	})
	splice.ClearSplicePool()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es) - 1 // the directory's own descriptor
}

var spliceOnce sync.Once

// settledFds waits up to two seconds for the descriptor count to come back
// to want (a child's pipes close when its Wait returns) and returns it.
func settledFds(t testing.TB, want int) int {
	n := fdCount(t)
	for deadline := time.Now().Add(2 * time.Second); n != want && time.Now().Before(deadline); n = fdCount(t) {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// faultAt is a Stock.Fault hook that runs act before the k-th kernel call
// of a restore (counting from 1) and lets the call go on, so the fault is a
// real one: the holder gone, the socket closed, the interface deleted.
type faultAt struct {
	mu    sync.Mutex
	k, n  int
	act   func()
	calls []string
}

func (f *faultAt) hook(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.calls = append(f.calls, call)
	if f.n == f.k && f.act != nil {
		f.act()
	}
	return nil
}

// seen returns the calls made since the hook was armed. (The restore ran
// in the server before the close returned, but through the kernel, which
// the race detector cannot see: hence the lock.)
func (f *faultAt) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *faultAt) arm(k int, act func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.k, f.n, f.act, f.calls = k, 0, act, nil
}

// restoreScene is one target socket and an image whose restore makes every
// kind of kernel call: options, a leave, a join, a bind and a connect.
type restoreScene struct {
	h      *netnstest.Holder
	target *netnstest.Sock
	image  []byte
	ifJoin string
}

// newScene makes a holder with a target socket that has joined a group on
// "fl0" and an image (from a socket that is then closed) with other
// options, a group on "fj0" (made afresh when fresh is set), and an
// address and a peer.
func newScene(t *testing.T, mnt string, fresh bool) *restoreScene {
	t.Helper()
	if _, err := net.InterfaceByName("fj0"); fresh || err != nil {
		exec.Command("ip", "link", "del", "fj0").Run()
		netnstest.Veth(t, "fj0", "10.42.0.1/24")
	}
	h := netnstest.NewHolder(t)
	src := h.Socket("udp")
	src.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 99)
	src.SetInt(unix.IPPROTO_IP, unix.IP_TOS, 0x10)
	src.SetInt(unix.IPPROTO_IP, unix.IP_RECVTTL, 1)
	src.SetInt(unix.SOL_SOCKET, unix.SO_SNDBUF, 32768)
	src.Must("join", map[string]any{"group": "239.42.0.1", "ifindex": ifindexOf(t, "fj0")})
	src.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
	src.Must("connect", map[string]any{"addr": "127.0.0.1", "port": 5353})
	image := []byte(netnstest.ReadFile(t, filepath.Join(sockDir(mnt, src), "image.bin")))
	src.Close()
	target := h.Socket("udp")
	target.Must("join", map[string]any{"group": "239.41.0.1", "ifindex": ifindexOf(t, "fl0")})
	return &restoreScene{h: h, target: target, image: image, ifJoin: "fj0"}
}

func ifindexOf(t *testing.T, name string) int {
	t.Helper()
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return ifi.Index
}

// TestRestoreFaults runs the full restore of a scene once for every k and
// every fault, the fault striking just before the k-th kernel call. The
// close that carries the restore must return success (the fault came too
// late to matter, or the duplicate the engine holds kept the socket alive
// to the end) or the fault's own errno; the socket must then be gone (or,
// for a vanished interface, as it was before a failed restore); and no
// descriptor may be left behind.
func TestRestoreFaults(t *testing.T) {
	netnstest.Veth(t, "fl0", "10.41.0.1/24")
	stock := stock.NewStock()
	fault := &faultAt{}
	stock.Fault = fault.hook
	mnt, _ := publicMount(t, stock)

	// Count the calls of a full restore with no fault.
	sc := newScene(t, mnt, false)
	fault.arm(0, nil)
	if err := os.WriteFile(filepath.Join(sockDir(mnt, sc.target), "image.bin"), sc.image, 0); err != nil {
		t.Fatalf("restore without a fault: %v", err)
	}
	calls := fault.seen()
	sc.h.Stop()
	t.Logf("a full restore makes %d kernel calls: %q", len(calls), calls)
	if len(calls) < 6 {
		t.Fatalf("want options, a leave, a join, a bind and a connect; got %q", calls)
	}

	type result struct{ ok, failed int }
	results := map[string]*result{}
	faults := []struct {
		name  string
		act   func(sc *restoreScene) func()
		errno []syscall.Errno // what the close may fail with
		gone  bool            // the socket is gone afterwards
		fresh bool            // the scene needs a new interface
	}{
		{"holder exits", func(sc *restoreScene) func() { return sc.h.Stop }, []syscall.Errno{syscall.ENOENT}, true, false},
		{"socket closes", func(sc *restoreScene) func() { return func() { sc.target.Close() } }, []syscall.Errno{syscall.ENOENT}, true, false},
		{"interface disappears", func(sc *restoreScene) func() {
			return func() { netnstest.Run(t, "ip", "link", "del", sc.ifJoin) }
		}, []syscall.Errno{syscall.ENODEV}, false, true},
	}
	// A closed file's RELEASE reaches the server after close(2) returns,
	// and a file open for writing holds a duplicate of its socket until
	// then: each scene starts once the last one's descriptors are gone.
	settled := fdCount(t)
	for _, f := range faults {
		results[f.name] = &result{}
		// k 0 strikes after the image is written and before the close
		// that restores it. -short tries the first and the last call only.
		for k := 0; k <= len(calls); k++ {
			if testing.Short() && k > 1 && k < len(calls) {
				continue
			}
			fdsBefore := settledFds(t, settled)
			sc := newScene(t, mnt, f.fresh)
			dir := sockDir(mnt, sc.target)
			before := netnstest.ReadFile(t, filepath.Join(dir, "image.bin"))
			err := writeImage(t, filepath.Join(dir, "image.bin"), sc.image, func() {
				if k == 0 {
					f.act(sc)()
				}
				fault.arm(k, f.act(sc))
			})
			var errno syscall.Errno
			switch {
			case err == nil:
				results[f.name].ok++
			case errors.As(err, &errno) && contains(f.errno, errno):
				results[f.name].failed++
			default:
				t.Errorf("%s at call %d: %v, want success or %v", f.name, k, err, f.errno)
			}
			if f.gone {
				waitGone(t, dir)
			} else if err != nil {
				if after := netnstest.ReadFile(t, filepath.Join(dir, "image.bin")); after != before {
					t.Errorf("%s at call %d: a failed restore changed the socket", f.name, k)
				}
			}
			sc.h.Stop()
			// More descriptors after is a leak; fewer is a cache of the
			// server's (a namespace, a groups file) let go meanwhile.
			if n := settledFds(t, fdsBefore); n > fdsBefore {
				t.Errorf("%s at call %d: %d descriptors before, %d after", f.name, k, fdsBefore, n)
			}
			settled = fdsBefore
		}
		t.Logf("%s: %d restores, %d succeeded, %d failed cleanly", f.name, results[f.name].ok+results[f.name].failed, results[f.name].ok, results[f.name].failed)
	}
	// The open for writing holds the socket, so a holder that exits or
	// closes it after the open does not stop the restore at close; an
	// interface gone before its join does.
	for name, r := range results {
		if name == "interface disappears" && r.failed == 0 {
			t.Errorf("%s: no restore failed, not even one that began after the fault", name)
		}
	}
}

// writeImage writes an image to image.bin from a python3 child, runs
// between before the child closes the file (which restores it), and
// returns what the write or the close returned. The writer is another
// process because a fork by this one while the file is open would close
// the child's copy at exec, and that close is a flush: the restore would
// run then, before the fault.
func writeImage(t *testing.T, path string, image []byte, between func()) error {
	t.Helper()
	const script = `
import os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
    os.write(fd, bytes.fromhex(sys.argv[2]))
except OSError as e:
    print(e.errno, flush=True); sys.exit()
print("written", flush=True)
sys.stdin.readline()
try:
    os.close(fd); print(0)
except OSError as e:
    print(e.errno)
`
	cmd := exec.Command("python3", "-c", script, path, hex.EncodeToString(image))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	r := bufio.NewScanner(out)
	if !r.Scan() {
		t.Fatal("the writer said nothing")
	}
	if line := r.Text(); line != "written" {
		n, _ := strconv.Atoi(line)
		return syscall.Errno(n)
	}
	between()
	in.Write([]byte("\n"))
	if !r.Scan() {
		t.Fatal("the writer did not report its close")
	}
	if n, _ := strconv.Atoi(r.Text()); n != 0 {
		return syscall.Errno(n)
	}
	return nil
}

func contains(errs []syscall.Errno, e syscall.Errno) bool {
	for _, x := range errs {
		if x == e {
			return true
		}
	}
	return false
}

// waitGone waits for a socket's directory to fail with ENOENT.
func waitGone(t *testing.T, dir string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := os.Stat(filepath.Join(dir, "image.bin"))
		if errors.Is(err, syscall.ENOENT) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v two seconds after its socket went away, want ENOENT", dir, err)
		}
	}
}

// TestDumpRacesClosingHolder reads the files of 60 sockets from four
// goroutines while their holder closes them one by one and then exits, and
// while the interface of their memberships is deleted: every read either
// succeeds or fails with ENOENT. The engine is also called directly, where
// the errors are ENOENT or ESRCH.
func TestDumpRacesClosingHolder(t *testing.T) {
	ifi := netnstest.Veth(t, "dr0", "10.43.0.1/24")
	stock := stock.NewStock()
	mnt, _ := publicMount(t, stock)
	fdsBefore, links := fdCount(t), fdLinks()
	h := netnstest.NewHolder(t)
	var socks []*netnstest.Sock
	for i := range 60 {
		s := h.Socket("udp")
		s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
		if i%3 == 0 {
			s.Must("join", map[string]any{"group": fmt.Sprintf("239.43.0.%d", i+1), "ifindex": ifi})
		}
		socks = append(socks, s)
	}
	files := []string{"image.bin", "info", "ipopt/ttl", "sockopt/rcvbuf", "membership"}
	var mu sync.Mutex
	counts := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := socks[rng.IntN(len(socks))]
				var err error
				if r == 3 {
					_, err = stock.Dump(s.Inode)
				} else {
					p := filepath.Join(sockDir(mnt, s), files[rng.IntN(len(files))])
					if filepath.Base(p) == "membership" {
						var es []os.DirEntry
						if es, err = os.ReadDir(p); err == nil {
							for _, e := range es {
								os.ReadFile(filepath.Join(p, e.Name())) // may vanish between the two
							}
						}
					} else {
						_, err = os.ReadFile(p)
					}
				}
				kind := "ok"
				switch {
				case err == nil:
				case errors.Is(err, syscall.ENOENT):
					kind = "ENOENT"
				case r == 3 && errors.Is(err, syscall.ESRCH):
					kind = "ESRCH"
				default:
					kind = "unexpected"
					t.Errorf("reader %d: %v", r, err)
				}
				mu.Lock()
				counts[kind]++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	for i, s := range socks[:30] {
		s.Close()
		if i == 15 {
			netnstest.Run(t, "ip", "link", "del", "dr0")
		}
		time.Sleep(30 * time.Millisecond)
	}
	h.Stop()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("reads while closing: %v", counts)
	if counts["ENOENT"] == 0 {
		t.Error("no read met a closed socket")
	}
	if n := settledFds(t, fdsBefore); n != fdsBefore {
		t.Errorf("%d descriptors before, %d after: %v, then %v", fdsBefore, n, links, fdLinks())
	}
}
