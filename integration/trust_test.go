package integration

// The ways a local user tried to borrow the mount's power or hang it
// (docs/security.md): a user namespace of its own, a set-uid program's
// close, raw IP options, and an exec that closes image.bin.

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// imageWith writes, into a directory uid owns, the image of socket s with
// the given options set (by path) and, when port is not 0, bound to
// 127.0.0.1:port; it returns the file's path.
func imageWith(t *testing.T, mnt string, s *netnstest.Sock, uid int, port uint16, values map[string]uint64) string {
	t.Helper()
	img, err := image.Decode([]byte(netnstest.ReadFile(t, filepath.Join(sockDir(mnt, s), "image.bin"))))
	if err != nil {
		t.Fatal(err)
	}
	for path, v := range values {
		dir, name, _ := strings.Cut(path, "/")
		o, ok := image.LookupOption(dir, name)
		if !ok {
			t.Fatalf("no option %s", path)
		}
		img.Values[o.Attr] = image.Value{Num: v}
	}
	if port != 0 {
		img.Local = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	}
	p := filepath.Join(userDir(t, uid), fmt.Sprintf("image-%d.bin", s.Inode))
	if err := os.WriteFile(p, img.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// unchanged fails the test if the holder's socket has a mark, priority
// 7, IP_TRANSPARENT or a buffer past the sysctls, or is bound.
func unchanged(t *testing.T, what string, s *netnstest.Sock) {
	t.Helper()
	for _, c := range []struct {
		name       string
		level, opt int
		max        int
	}{
		{"mark", unix.SOL_SOCKET, unix.SO_MARK, 0},
		{"priority", unix.SOL_SOCKET, unix.SO_PRIORITY, 6},
		{"transparent", unix.IPPROTO_IP, unix.IP_TRANSPARENT, 0},
		{"rcvbuf", unix.SOL_SOCKET, unix.SO_RCVBUF, 2 * sysctlInt(t, "net/core/rmem_max")},
	} {
		if got := s.GetInt(c.level, c.opt); got > c.max {
			t.Errorf("%s: %s is %d in the holder", what, c.name, got)
		}
	}
	var r struct {
		Local []any `json:"local"`
	}
	s.H.Must(map[string]any{"op": "sockname", "fd": s.Fd}, &r)
	if len(r.Local) == 2 && fmt.Sprint(r.Local[1]) != "0" {
		t.Errorf("%s: the socket is bound to %v", what, r.Local)
	}
}

// TestUserNamespaceLendsNothing: a user that made a user namespace of its
// own holds every capability there, and none of them counts for its
// socket, whose network namespace is not that namespace's: the holder
// itself gets EPERM for each of these, and so does the tree.
func TestUserNamespaceLendsNothing(t *testing.T) {
	netnstest.Require(t, "unshare")
	mnt, _ := publicMount(t, nil)
	a := holderAs(t, userA).Socket("udp")
	d := sockDir(mnt, a)
	for _, w := range privileged(t) {
		// bash, whose message names the errno (dash says "I/O error" for any).
		out, code := asUser(t, userA, fmt.Sprintf("unshare -Ur bash -c 'echo %s > %s/%s'", w.value, d, w.file))
		if code == 0 || !strings.Contains(out, "Operation not permitted") {
			t.Errorf("A in a user namespace of its own: echo %s > %s: exit %d: %s (want Operation not permitted)", w.value, w.file, code, out)
		}
		if got := a.GetInt(w.level, w.opt); got >= 7 && w.opt != unix.SO_RCVBUF && w.opt != unix.SO_SNDBUF {
			t.Errorf("A in a user namespace of its own set %s to %d", w.file, got)
		}
	}
	img := imageWith(t, mnt, a, userA, 80, nil)
	if out, code := asUser(t, userA, fmt.Sprintf("unshare -Ur cp %s %s/image.bin", img, d)); code == 0 {
		t.Errorf("A in a user namespace of its own bound its socket to port 80: %s", out)
	}
	unchanged(t, "after A's writes from a user namespace", a)
}

// TestSetuidCloseLendsNothing: A writes an image into its own socket's
// image.bin and lets a set-uid-root program inherit the descriptor; the
// program's exit closes it, a flush from uid 0 with every capability. The
// restore is still judged as A, who opened the file.
func TestSetuidCloseLendsNothing(t *testing.T) {
	netnstest.Require(t, "passwd")
	mnt, logs := publicMount(t, nil)
	a := holderAs(t, userA).Socket("udp")
	img := imageWith(t, mnt, a, userA, 80, map[string]uint64{"sockopt/mark": 5, "sockopt/priority": 7, "ipopt/transparent": 1})
	script := fmt.Sprintf(`
import os, subprocess
fd = os.open(%q, os.O_WRONLY)
os.write(fd, open(%q, "rb").read())
subprocess.run(["passwd", "--help"], pass_fds=(fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(fd)
`, filepath.Join(sockDir(mnt, a), "image.bin"), img)
	// Set-uid must work: no empty bounding set, unlike asUser.
	out, code := netnstest.RunArgv(t, append(setpriv(userA, "--inh-caps=-all"), userPython(t), "-c", script))
	if code != 0 {
		t.Fatalf("A's writer: exit %d: %s", code, out)
	}
	unchanged(t, "after a set-uid program closed A's image.bin", a)
	if len(logs.Lines("op=restore", fmt.Sprintf("uid=%d", userA), "comm=python3")) == 0 {
		t.Errorf("the restore is not logged as A's, the opener's:\n%s", strings.Join(logs.Lines("op=restore"), "\n"))
	}
}

// TestRawIPOptionsNeedCapability: the kernel asks CAP_NET_RAW for a
// security option (IPOPT_SEC) and refuses it to others with EINVAL; so
// does the tree.
func TestRawIPOptionsNeedCapability(t *testing.T) {
	mnt, _ := publicMount(t, nil)
	a := holderAs(t, userA).Socket("udp")
	p := filepath.Join(sockDir(mnt, a), "ipopt", "options")
	out, code := asUser(t, userA, "echo 820b00000000000000000000 > "+p)
	if code == 0 || !strings.Contains(out, "Invalid argument") {
		t.Errorf("A: echo a security option > ipopt/options: exit %d: %s (want Invalid argument)", code, out)
	}
	if got := a.GetBytes(unix.IPPROTO_IP, unix.IP_OPTIONS, 40); len(got) != 0 {
		t.Errorf("A's socket has IP options %x", got)
	}
	netnstest.MustSh(t, "echo 820b00000000000000000000 > "+p)
	if got := a.GetBytes(unix.IPPROTO_IP, unix.IP_OPTIONS, 40); len(got) == 0 {
		t.Error("root could not set a security option: the test proves nothing")
	}
}

// TestExecClosingImageDoesNotHang: a program that holds a socket opens the
// socket's image.bin for writing with O_CLOEXEC, writes an image and
// execs. The exec closes the file while it holds the task's exec lock;
// that close is a flush, and a flush that took the socket from the task
// then would wait for the exec, which waits for the flush. The exec must
// finish, and the tree must go on serving.
func TestExecClosingImageDoesNotHang(t *testing.T) {
	netnstest.Require(t, "python3", "true")
	mnt := mount(t)
	other := netnstest.NewHolder(t).Socket("udp")
	script := fmt.Sprintf(`
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
path = "%s/%%d/image.bin" %% os.fstat(s.fileno()).st_ino
image = open(path, "rb").read()
fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
os.write(fd, image)
os.execvp("true", ["true"])
`, mnt)
	cmd := exec.Command("python3", "-c", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("python3: %v: %s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		// The task sits in D state, where no signal reaches it: only the
		// connection's abort frees it (and /proc, which waits on it too).
		abortConnection(t, mnt)
		<-done
		t.Fatal("the exec did not finish in 10 s: the close inside it hangs the tree")
	}
	read := make(chan string, 1)
	go func() { b, _ := os.ReadFile(filepath.Join(sockDir(mnt, other), "ipopt", "ttl")); read <- string(b) }()
	select {
	case got := <-read:
		if got != "64\n" {
			t.Errorf("ttl of another socket after the exec: %q", got)
		}
	case <-time.After(5 * time.Second):
		abortConnection(t, mnt)
		t.Fatal("the tree does not answer after the exec")
	}
}

func sysctlInt(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCongestionJudgedAsCaller: a congestion control algorithm outside
// net.ipv4.tcp_allowed_congestion_control needs CAP_NET_ADMIN. A, who
// holds a TCP socket, may pick an allowed one through tcpopt/congestion
// but gets EPERM for another, by echo and by an image alike; root may.
func TestCongestionJudgedAsCaller(t *testing.T) {
	allowed := strings.Fields(netnstest.ReadFile(t, "/proc/sys/net/ipv4/tcp_allowed_congestion_control"))
	restricted := ""
	for _, ca := range strings.Fields(netnstest.ReadFile(t, "/proc/sys/net/ipv4/tcp_available_congestion_control")) {
		if !slices.Contains(allowed, ca) {
			restricted = ca
		}
	}
	if restricted == "" || len(allowed) == 0 {
		t.Skipf("this kernel allows every algorithm it has (%v): none to refuse", allowed)
	}
	mnt, _ := publicMount(t, nil)
	a := holderAs(t, userA).Socket("tcp")
	file := filepath.Join(sockDir(mnt, a), "tcpopt", "congestion")
	congestion := func() string {
		return strings.TrimRight(string(a.GetBytes(unix.SOL_TCP, unix.TCP_CONGESTION, 16)), "\x00")
	}

	mustAsUser(t, userA, "echo "+allowed[0]+" > "+file)
	if got := congestion(); got != allowed[0] {
		t.Fatalf("A: echo %s > tcpopt/congestion: the holder reads %s", allowed[0], got)
	}
	out, code := asUser(t, userA, "echo "+restricted+" > "+file)
	if code == 0 || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("A: echo %s > tcpopt/congestion: exit %d: %s (want Operation not permitted)", restricted, code, out)
	}
	img, err := image.Decode([]byte(netnstest.ReadFile(t, filepath.Join(sockDir(mnt, a), "image.bin"))))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := image.LookupOption("tcpopt", "congestion")
	img.Values[o.Attr] = image.Value{Bytes: []byte(restricted)}
	p := filepath.Join(userDir(t, userA), "congestion.bin")
	if err := os.WriteFile(p, img.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := asUser(t, userA, "cp "+p+" "+filepath.Join(sockDir(mnt, a), "image.bin")); code == 0 || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("A: cp of an image with congestion %s: exit %d: %s (want Operation not permitted)", restricted, code, out)
	}
	if got := congestion(); got != allowed[0] {
		t.Errorf("after A's refused writes the holder reads %s, want %s", got, allowed[0])
	}
	netnstest.MustSh(t, "echo "+restricted+" > "+file)
	if got := congestion(); got != restricted {
		t.Errorf("root: echo %s > tcpopt/congestion: the holder reads %s; the test proves nothing", restricted, got)
	}
}
