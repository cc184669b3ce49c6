package integration

// Sockets no task holds: a UDP socket in flight in an SCM_RIGHTS message
// (sent over an AF_UNIX socketpair, its sender's copy closed, never
// received) is in no process's files. The exact reader finds it in the
// namespace's UDP table and shows it read-only; the stock engine, which
// finds sockets through their holders, cannot.

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// inFlight sets IP_TTL 77 on a bound UDP socket, sends it to itself over
// a socketpair, closes its own copy and prints the socket's inode. On
// "recv" it takes the socket back and prints its IP_TTL as it reads it.
const inFlight = `
import os, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 77)
u.bind(("127.0.0.1", 0))
ino = os.fstat(u.fileno()).st_ino
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
socket.send_fds(a, [b"x"], [u.fileno()])
u.close()
print(ino, flush=True)
sys.stdin.readline()
_, fds, _, _ = socket.recv_fds(b, 1, 1)
r = socket.socket(fileno=fds[0])
print(r.getsockopt(socket.IPPROTO_IP, socket.IP_TTL), flush=True)
sys.stdin.readline()
`

func TestUnheldSocket(t *testing.T) {
	netnstest.Require(t, "python3", "bash", "cp")
	p, line := startInFlight(t, inFlight)
	cmd, in, out := p.cmd, p.in, p.out
	ino, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
	if err != nil {
		t.Fatal(line, err)
	}
	name := strconv.FormatUint(ino, 10)
	ttl, _ := image.LookupOption("ipopt", "ttl")

	e, err := exact.Open(exact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() }) // after the unmount: cleanups run last first
	listed := func(b netlinkio.Backend) (image.Socket, bool) {
		ls, err := b.List()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ls, func(s image.Socket) bool { return s.Inode == ino })
		if i < 0 {
			return image.Socket{}, false
		}
		return ls[i], true
	}
	// sock_diag lists it (it is in the UDP table), but the stock engine
	// reads a socket through a holder's descriptor, and there is none.
	if _, err := stock.NewStock().Dump(ino); err == nil {
		t.Errorf("the stock engine dumps socket %d, which no process holds", ino)
	}
	s, ok := listed(e)
	if !ok || !s.Unheld {
		t.Fatalf("the exact reader lists socket %d: %v, unheld %v", ino, ok, s.Unheld)
	}
	img, err := e.Dump(ino)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Values[ttl.Attr].Num; got != 77 {
		t.Errorf("dump: ttl %d, the holder set 77", got)
	}
	if _, err := netlinkio.Take(e, ino); err == nil || !strings.Contains(err.Error(), "no process holds socket "+name) {
		t.Errorf("hold: %v, want no process holds socket %s", err, name)
	}

	mnt := t.TempDir()
	logs := &netnstest.LogBuffer{}
	netnstest.MountTree(t, mnt, inetcrfs.Options{Backend: e, Logger: logs.Logger()})
	dir := filepath.Join(mnt, name)
	netnstest.MustSh(t, "ls "+mnt+" >/dev/null")
	if got := strings.TrimSpace(netnstest.ReadFile(t, filepath.Join(dir, "ipopt/ttl"))); got != "77" {
		t.Errorf("cat ipopt/ttl: %q, want 77", got)
	}
	if got := netnstest.MustSh(t, "stat -c %a "+filepath.Join(dir, "ipopt/ttl")); strings.TrimSpace(got) != "400" {
		t.Errorf("ipopt/ttl mode %s, want 400", got)
	}
	if info := netnstest.ReadFile(t, filepath.Join(dir, "info")); !strings.Contains(info, "local 127.0.0.1:") || !strings.Contains(info, "holder none") {
		t.Errorf("info of socket %s: %q", name, info)
	}
	saved := filepath.Join(t.TempDir(), "image.bin")
	netnstest.MustSh(t, "cp "+filepath.Join(dir, "image.bin")+" "+saved)
	for _, w := range []string{
		"echo 5 > " + filepath.Join(dir, "ipopt/ttl"),
		"cp " + saved + " " + filepath.Join(dir, "image.bin"),
		"touch " + filepath.Join(dir, "membership/239.1.2.3@lo"),
	} {
		got, code := netnstest.Sh(t, w)
		if code == 0 || !strings.Contains(got, "Read-only file system") {
			t.Errorf("%s: exit %d, %q; want Read-only file system", w, code, got)
		}
	}
	if l := logs.Lines("no process holds socket " + name); len(l) == 0 {
		t.Errorf("no log record says no process holds socket %s", name)
	}
	if img, err := e.Dump(ino); err != nil || img.Values[ttl.Attr].Num != 77 {
		t.Errorf("after the writes: %v, ttl %d, want 77", err, img.Values[ttl.Attr].Num)
	}

	// Independently: the socket, received, has the TTL it was sent with.
	io.WriteString(in, "recv\n")
	if line, err = out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "77" {
		t.Errorf("received socket's IP_TTL: %q %v, want 77", line, err)
	}
	if hs, err := e.Holders(ino); err != nil || len(hs) != 1 || hs[0].Pid != cmd.Process.Pid {
		t.Errorf("received, socket %d has holders %v %v; want pid %d", ino, hs, err, cmd.Process.Pid)
	}
}

// inFlightProc is a python3 process that keeps sockets in flight; in and
// out talk to it.
type inFlightProc struct {
	cmd *exec.Cmd
	in  io.Writer
	out *bufio.Reader
}

// startInFlight runs a python3 script that leaves sockets in flight and
// prints one line (their inodes) when they are; it ends with the test.
func startInFlight(t *testing.T, script string, args ...string) (*inFlightProc, string) {
	t.Helper()
	cmd := exec.Command("python3", append([]string{"-c", script}, args...)...)
	stdin, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	out := bufio.NewReader(outPipe)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return &inFlightProc{cmd: cmd, in: stdin, out: out}, line
}
