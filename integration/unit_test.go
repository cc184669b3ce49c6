package integration

// The systemd unit as shipped (dist/inetcr.service.in): systemd-analyze
// verify (install_test.go), no setting that gives it a mount namespace of
// its own, and its command run with its capability bounding set and
// no_new_privs, as systemd would run it: READY=1 once the tree answers, a
// mount that other processes see, every capability of the set needed by
// something, STOPPING=1 and exit 0 on SIGTERM.

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

const unitFile = "../dist/inetcr.service.in"

// unitService returns the [Service] settings of the unit, each key's
// values in order.
func unitService(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]":
			k, v, _ := strings.Cut(l, "=")
			out[k] = append(out[k], v)
		}
	}
	return out
}

// TestUnitHasNoNamespaces: a FUSE mount made in a mount namespace of the
// service's own is not seen by the host, and a network namespace of its
// own would show no socket of the host; systemd makes one for each of
// these settings.
func TestUnitHasNoNamespaces(t *testing.T) {
	svc := unitService(t)
	for _, k := range []string{
		"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts", "PrivateNetwork",
		"PrivateUsers", "PrivateIPC", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
		"ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset",
		"ReadOnlyPaths", "ReadWritePaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths",
		"TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "MountFlags", "MountImages",
		"RootDirectory", "RootImage", "DynamicUser", "NetworkNamespacePath", "JoinsNamespaceOf",
		"IPCNamespacePath", "LogNamespace", "MountAPIVFS", "ProtectKernelLogs",
	} {
		if v, ok := svc[k]; ok {
			t.Errorf("the unit sets %s=%s, which gives the service a namespace of its own", k, v)
		}
	}
	if got := svc["Type"]; len(got) != 1 || got[0] != "notify" {
		t.Errorf("Type=%v, want notify", got)
	}
	if got := svc["NoNewPrivileges"]; len(got) != 1 || got[0] != "yes" {
		t.Errorf("NoNewPrivileges=%v, want yes", got)
	}
	if got := svc["Restart"]; len(got) != 1 || got[0] != "on-failure" {
		t.Errorf("Restart=%v, want on-failure", got)
	}
}

// notifySocket listens where NOTIFY_SOCKET will point, as systemd does.
type notifySocket struct {
	path string
	conn *net.UnixConn
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &notifySocket{path: path, conn: conn}
}

// next returns the next notification, or "" after the timeout.
func (n *notifySocket) next(timeout time.Duration) string {
	buf := make([]byte, 4096)
	n.conn.SetReadDeadline(time.Now().Add(timeout))
	k, err := n.conn.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:k])
}

// unitServer is the unit's ExecStart running as systemd would run it.
type unitServer struct {
	cmd    *exec.Cmd
	notify *notifySocket
	out    *strings.Builder
	exited chan struct{}
	ready  string // the first notification
}

// startUnit runs the unit's ExecStartPre and ExecStart with /inetcr
// replaced by mp and @BINDIR@ by bindir, under setpriv with no_new_privs,
// nothing inheritable and the bounding set caps, and NOTIFY_SOCKET set. It
// waits for the first notification, at most 20 s.
func startUnit(t *testing.T, svc map[string][]string, bindir, mp string, caps []string, global ...string) *unitServer {
	t.Helper()
	argv := func(line string) []string {
		f := strings.Fields(strings.ReplaceAll(line, "@BINDIR@", bindir))
		for i := range f {
			if f[i] == "/inetcr" {
				f[i] = mp
			}
		}
		return f
	}
	for _, pre := range svc["ExecStartPre"] {
		if out, code := netnstest.RunArgv(t, argv(pre)); code != 0 {
			t.Fatalf("ExecStartPre=%s: exit %d: %s", pre, code, out)
		}
	}
	var bound []string
	for _, c := range caps {
		bound = append(bound, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	s := &unitServer{notify: newNotifySocket(t), out: &strings.Builder{}, exited: make(chan struct{})}
	cmd := argv(svc["ExecStart"][0])
	cmd = append(append(cmd[:1:1], global...), cmd[1:]...)
	full := append([]string{"setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all," + strings.Join(bound, ","), "--"}, cmd...)
	s.cmd = exec.Command(full[0], full[1:]...)
	s.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+s.notify.path)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(15 * time.Second):
				abortConnection(t, mp)
				s.cmd.Process.Kill()
				<-s.exited
			}
		}
	})
	// The first notification, or none if the server exits first.
	first := make(chan string, 1)
	go func() { first <- s.notify.next(20 * time.Second) }()
	select {
	case s.ready = <-first:
	case <-s.exited:
		s.notify.conn.SetReadDeadline(time.Now()) // ends the read
		s.ready = <-first
	}
	return s
}

// stop sends SIGTERM, as systemctl stop does, and returns the
// notification that follows and the exit status.
func (s *unitServer) stop(t *testing.T) (string, error) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	msg := s.notify.next(15 * time.Second)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not exit 15 s after SIGTERM")
	}
	if !s.cmd.ProcessState.Success() {
		return msg, fmt.Errorf("%v", s.cmd.ProcessState)
	}
	return msg, nil
}

// mountedFor reports whether the process pid sees a FUSE mount of type
// fuse.inetcr at mp (its /proc/PID/mountinfo).
func mountedFor(t *testing.T, pid int, mp string) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		// ID PARENT DEV ROOT MOUNTPOINT OPTIONS [TAGS...] - TYPE SOURCE SUPER
		if sep := slices.Index(f, "-"); len(f) > 4 && f[4] == mp && sep > 0 && sep+1 < len(f) && f[sep+1] == "fuse.inetcr" {
			return true
		}
	}
	return false
}

// capabilityUse is something the server does that needs a capability of
// the unit's set: it returns nil when it worked.
type capabilityUse struct {
	what string
	do   func(mp string) error
}

// stockOnly are the capabilities only the stock engine needs: the exact
// reader finds holders with its iterator, without reading /proc/PID/fd.
var stockOnly = map[string]bool{"CAP_DAC_READ_SEARCH": true}

func TestUnitRunsWithItsCapabilities(t *testing.T) {
	netnstest.Require(t, "setpriv", "go", "cp", "bash")
	svc := unitService(t)
	bin := buildBinary(t)
	mp, err := os.MkdirTemp("", "inetcr-unit-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(mp, 0o755)
	t.Cleanup(func() { os.Remove(mp) })
	caps := strings.Fields(svc["CapabilityBoundingSet"][0])

	root := netnstest.NewHolder(t)
	a := bound(holderAs(t, userA).Socket("udp"))
	shell := func(argv ...string) error {
		out, code := netnstest.RunArgv(t, argv)
		if code != 0 {
			return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(out))
		}
		return nil
	}
	rmemMax := sysctlInt(t, "net/core/rmem_max")
	// A change that changes nothing makes no call (security.md), so each
	// write of the user's is a new value.
	ttl := 8
	userTTL := func(mp string) error {
		ttl++
		return shell(append(setpriv(userA), "bash", "-c", fmt.Sprintf("echo %d > %s/ipopt/ttl", ttl, sockDir(mp, a)))...)
	}
	// What needs each capability; the test checks that the unit works
	// with the set, and that each capability is needed by its use.
	uses := map[string]capabilityUse{
		"CAP_SYS_ADMIN": {"mount(2) of the tree", nil}, // without it the server does not start
		"CAP_SYS_PTRACE": {"root reads a file of another user's socket (pidfd_getfd of its holder)", func(mp string) error {
			_, err := os.ReadFile(filepath.Join(sockDir(mp, a), "ipopt", "ttl"))
			return err
		}},
		"CAP_DAC_READ_SEARCH": {"the stock engine's holder index lists another user's /proc/PID/fd", func(mp string) error {
			_, err := os.ReadFile(filepath.Join(sockDir(mp, a), "info"))
			return err
		}},
		"CAP_SETUID": {"a user's change is made on a thread that wears its uid (setresuid)", userTTL},
		"CAP_SETGID": {"a user's change is made on a thread that wears its gids (setgroups, setresgid)", userTTL},
		"CAP_NET_ADMIN": {"root sets a receive buffer past net.core.rmem_max (SO_RCVBUFFORCE)", func(mp string) error {
			s := bound(root.Socket("udp"))
			return shell("bash", "-c", fmt.Sprintf("echo %d > %s/sockopt/rcvbuf", 4*rmemMax, sockDir(mp, s)))
		}},
		"CAP_NET_RAW": {"root sets a security IP option (IP_OPTIONS)", func(mp string) error {
			s := bound(root.Socket("udp"))
			return shell("bash", "-c", "echo 820b00000000000000000000 > "+sockDir(mp, s)+"/ipopt/options")
		}},
		"CAP_NET_BIND_SERVICE": {"root's image.bin binds a socket to port 80", func(mp string) error {
			s := root.Socket("udp")
			img, err := os.ReadFile(filepath.Join(sockDir(mp, s), "image.bin"))
			if err != nil {
				return err
			}
			dec, err := image.Decode(img)
			if err != nil {
				return err
			}
			dec.Local = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 80)
			src := filepath.Join(t.TempDir(), "bind80.bin")
			if err := os.WriteFile(src, dec.Encode(), 0o644); err != nil {
				return err
			}
			return shell("cp", src, filepath.Join(sockDir(mp, s), "image.bin"))
		}},
	}
	for _, c := range caps {
		if _, ok := uses[c]; !ok {
			t.Errorf("the unit's CapabilityBoundingSet has %s, which no test shows is needed", c)
		}
	}

	// The whole set: everything works, and the mount is the host's.
	s := startUnit(t, svc, filepath.Dir(bin), mp, caps)
	if !strings.HasPrefix(s.ready, "READY=1") {
		t.Fatalf("first notification %q, want READY=1; the server said: %s", s.ready, s.out)
	}
	if !mountedFor(t, root.Pid(), mp) {
		t.Errorf("another process (the holder, pid %d) does not see the mount at %s", root.Pid(), mp)
	}
	for _, c := range caps {
		if u := uses[c]; u.do != nil {
			if err := u.do(mp); err != nil {
				t.Errorf("with the unit's capabilities, %s: %v", u.what, err)
			}
		}
	}
	if got := a.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != ttl {
		t.Errorf("ttl %d after the user's writes, want %d", got, ttl)
	}
	msg, err := s.stop(t)
	if !strings.HasPrefix(msg, "STOPPING=1") || err != nil {
		t.Errorf("after SIGTERM: notification %q, exit %v; want STOPPING=1 and 0: %s", msg, err, s.out)
	}
	if netnstest.Mounted(t, mp) {
		t.Fatalf("%s still mounted after SIGTERM", mp)
	}
	// An outside umount is a clean end too: STOPPING=1, exit 0, so that
	// Restart=on-failure leaves it unmounted.
	s = startUnit(t, svc, filepath.Dir(bin), mp, caps)
	if !strings.HasPrefix(s.ready, "READY=1") {
		t.Fatalf("first notification %q: %s", s.ready, s.out)
	}
	if err := unix.Unmount(mp, 0); err != nil {
		t.Fatal(err)
	}
	if msg := s.notify.next(15 * time.Second); !strings.HasPrefix(msg, "STOPPING=1") {
		t.Errorf("after umount: notification %q, want STOPPING=1", msg)
	}
	select {
	case <-s.exited:
		if !s.cmd.ProcessState.Success() {
			t.Errorf("after umount the server exited with %v: %s", s.cmd.ProcessState, s.out)
		}
	case <-time.After(15 * time.Second):
		t.Error("the server did not exit after umount")
	}

	// Each capability is needed: without it, its use fails.
	for _, c := range caps {
		t.Run(c, func(t *testing.T) {
			var less []string
			for _, k := range caps {
				if k != c {
					less = append(less, k)
				}
			}
			u := uses[c]
			var global []string
			if stockOnly[c] {
				global = []string{"--backend", "stock"}
			}
			s := startUnit(t, svc, filepath.Dir(bin), mp, less, global...)
			if u.do == nil { // the mount itself
				if s.ready != "" {
					t.Errorf("without %s the server still said %q", c, s.ready)
				}
				return
			}
			if !strings.HasPrefix(s.ready, "READY=1") {
				t.Fatalf("without %s: first notification %q: %s", c, s.ready, s.out)
			}
			if err := u.do(mp); err == nil {
				t.Errorf("without %s, %s still works: the unit need not grant it", c, u.what)
			} else {
				t.Logf("without %s, %s: %v", c, u.what, err)
			}
			s.stop(t)
		})
	}
}

// buildBinary builds inetcr, with its VCS stamp when the checkout has one.
func buildBinary(t *testing.T) string {
	t.Helper()
	netnstest.Require(t, "go")
	dir, err := os.MkdirTemp("", "inetcr-bin-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "inetcr")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "github.com/inetcr/inetcr/cmd/inetcr").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
