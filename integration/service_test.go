package integration

// inetcr run the way hosts run file systems: mount -t fuse.inetcr and an
// fstab line, through fuse3's mount.fuse3 (docs/service.md), and the
// read-only mount.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// syslogSocket is a syslog daemon's socket: it keeps every message.
type syslogSocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func newSyslogSocket(t *testing.T) *syslogSocket {
	t.Helper()
	s := &syslogSocket{path: filepath.Join(t.TempDir(), "log")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

// wait returns the first message that holds every one of want, waiting
// up to 5 s for it.
func (s *syslogSocket) wait(want ...string) string {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s.mu.Lock()
		for _, m := range s.msgs {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(m, w)
			}
			if ok {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
	}
	return ""
}

// helperHost is what mount(8) needs to run inetcr as a host would: inetcr
// in a directory of mount's PATH (it runs helpers with a PATH of its own)
// and a syslog. Both are set up in a mount namespace made for each mount
// command, so that nothing changes for the rest of the tests (or the
// host); the mount point lies in a directory that is shared with that
// namespace, so the FUSE mount made there shows here, as it would on a
// host.
type helperHost struct {
	dir    string // the shared directory
	bin    string
	syslog *syslogSocket
}

func newHelperHost(t *testing.T) *helperHost {
	t.Helper()
	netnstest.Require(t, "mount", "mount.fuse3", "unshare", "sh")
	h := &helperHost{bin: buildBinary(t), syslog: newSyslogSocket(t)}
	dir, err := os.MkdirTemp("", "inetcr-helper-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	h.dir = dir
	netnstest.Run(t, "mount", "--bind", dir, dir)
	netnstest.Run(t, "mount", "--make-shared", dir)
	t.Cleanup(func() {
		unix.Unmount(dir, unix.MNT_DETACH)
		os.RemoveAll(dir)
	})
	return h
}

// mount runs mount(8) with args, and returns its combined output and exit
// status.
func (h *helperHost) mount(t *testing.T, args ...string) (string, int) {
	t.Helper()
	setup := `set -e
mount -t tmpfs tmpfs /run
mount --bind "$BINDIR" /usr/local/sbin
if [ -e /dev/log ]; then mount --bind "$SYSLOG" /dev/log; else ln -s "$SYSLOG" /run/syslog; fi
exec mount "$@"`
	cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "unchanged", "sh", "-c", setup, "sh"}, args...)...)
	cmd.Env = append(os.Environ(), "BINDIR="+filepath.Dir(h.bin), "SYSLOG="+h.syslog.path)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill() // mount must return; fail rather than hang
		}
	}()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// servers lists the inetcr processes that serve mp. (Their exe is the
// binary's path in the mount namespace mount ran in: /usr/local/sbin.)
func (h *helperHost) servers(t *testing.T, mp string) []int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		exe, _ := os.Readlink(p + "/exe")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if filepath.Base(exe) == "inetcr" && strings.Contains(string(cmdline), "\x00mount\x00") && strings.HasSuffix(string(cmdline), "\x00"+mp+"\x00") {
			var pid int
			fmt.Sscan(filepath.Base(p), &pid)
			pids = append(pids, pid)
		}
	}
	return pids
}

// unmount unmounts mp as umount(8) would and waits for its server to end.
func (h *helperHost) unmount(t *testing.T, mp string) {
	t.Helper()
	pids := h.servers(t, mp)
	if len(pids) != 1 {
		t.Errorf("%d servers of %s, want 1: %v", len(pids), mp, pids)
	}
	if err := unix.Unmount(mp, 0); err != nil {
		t.Fatalf("umount %s: %v", mp, err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(h.servers(t, mp)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server of %s did not exit after umount", mp)
		}
	}
}

// superOptions returns the file system's options of the mount at mp as
// this process sees it (the last field of its mountinfo line) and the
// mount's own (the sixth), or "" when nothing is mounted there.
func superOptions(t *testing.T, mp string) (super, mnt string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 9 && f[4] == mp && f[len(f)-3] == "fuse.inetcr" {
			return f[len(f)-1], f[5]
		}
	}
	return "", ""
}

func TestMountHelper(t *testing.T) {
	h := newHelperHost(t)
	mp := filepath.Join(h.dir, "inetcr")
	if err := os.Mkdir(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	s := bound(netnstest.NewHolder(t).Socket("udp"))

	out, code := h.mount(t, "-t", "fuse.inetcr", "inetcr", mp, "-o", "allow_other")
	if code != 0 || out != "" {
		t.Fatalf("mount -t fuse.inetcr: exit %d: %q", code, out)
	}
	// mount returned once the tree answers: no waiting here.
	if got, err := os.ReadFile(filepath.Join(sockDir(mp, s), "ipopt", "ttl")); err != nil || string(got) != "64\n" {
		t.Fatalf("ttl right after mount returned: %q, %v", got, err)
	}
	if super, _ := superOptions(t, mp); !strings.Contains(super, "allow_other") {
		t.Errorf("mount options %q lack allow_other", super)
	}
	// The server left nothing of mount's: mount's output was read to EOF
	// above, so it holds no descriptor of it; it logs to syslog.
	netnstest.MustSh(t, "echo 9 > "+sockDir(mp, s)+"/ipopt/ttl")
	if got := s.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 9 {
		t.Errorf("ttl %d in the holder after echo 9", got)
	}
	if m := h.syslog.wait("inetcr[", "msg=change", fmt.Sprintf("socket=%d", s.Inode), "what=ipopt/ttl", "old=64", "new=9"); m == "" {
		t.Errorf("no syslog record of the change; got %q", h.syslog.msgs)
	} else {
		t.Logf("syslog: %s", m)
	}
	h.unmount(t, mp)

	// The same through an fstab line, read-only, with options mount and
	// systemd keep to themselves.
	fstab := filepath.Join(t.TempDir(), "fstab")
	line := fmt.Sprintf("inetcr %s fuse.inetcr ro,allow_other,backend=stock,nofail,_netdev,x-systemd.automount 0 0\n", mp)
	if err := os.WriteFile(fstab, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := h.mount(t, "-T", fstab, mp); code != 0 || out != "" {
		t.Fatalf("mount -T fstab %s: exit %d: %q", mp, code, out)
	}
	if _, mnt := superOptions(t, mp); !strings.HasPrefix(mnt, "ro,") {
		t.Errorf("mount options %q: not read-only", mnt)
	}
	if got := netnstest.ReadFile(t, filepath.Join(sockDir(mp, s), "ipopt", "ttl")); got != "9\n" {
		t.Errorf("ttl through the read-only mount: %q", got)
	}
	if out, code := netnstest.Sh(t, "echo 7 > "+sockDir(mp, s)+"/ipopt/ttl"); code == 0 || !strings.Contains(out, "Read-only file system") {
		t.Errorf("echo 7 > ttl on the ro mount: exit %d: %s", code, out)
	}
	h.unmount(t, mp)

	// Refusals: mount's exit status and message, nothing mounted, no server left.
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown option", []string{"-t", "fuse.inetcr", "inetcr", mp, "-o", "allow_other,bogus"}, `inetcr: mount ` + mp + `: unknown mount option "bogus"`},
		{"option without its value", []string{"-t", "fuse.inetcr", "inetcr", mp, "-o", "backend"}, `mount option "backend" wants a value`},
		{"bad value", []string{"-t", "fuse.inetcr", "inetcr", mp, "-o", "backend=nosuch"}, `inetcr: --backend "nosuch": want auto, kernel, exact or stock`},
		{"no such mount point", []string{"-t", "fuse.inetcr", "inetcr", mp + "-nonexistent"}, "inetcr: mount " + mp + "-nonexistent: stat " + mp + "-nonexistent: no such file or directory"},
	} {
		out, code := h.mount(t, c.args...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: mount %s: exit %d: %q, want a failure saying %q", c.name, strings.Join(c.args, " "), code, out, c.want)
		}
		if strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("%s: more than one line: %q", c.name, out)
		}
		if netnstest.Mounted(t, mp) || len(h.servers(t, mp)) > 0 {
			t.Errorf("%s: a mount or a server is left", c.name)
		}
	}
}

// TestReadOnlyMount: on a read-only mount the kernel refuses every change
// with EROFS; nothing reaches the tree, which logs nothing, and the socket
// keeps its state.
func TestReadOnlyMount(t *testing.T) {
	netnstest.Require(t, "bash", "cp", "touch", "rm", "chmod", "tar")
	ifi := netnstest.Veth(t, "ro0", "10.77.0.1/24")
	h := netnstest.NewHolder(t)
	s := bound(h.Socket("udp"))
	s.Must("join", map[string]any{"group": "239.7.7.7", "ifindex": ifi})
	other := bound(h.Socket("udp"))
	dir := t.TempDir()
	logs := &netnstest.LogBuffer{}
	netnstest.MountTree(t, dir, inetcrfs.Options{Backend: stock.NewStock(), ReadOnly: true, Logger: logs.Logger()})
	d := sockDir(dir, s)
	before := netnstest.ReadFile(t, filepath.Join(d, "image.bin"))
	backup := filepath.Join(t.TempDir(), "backup.tar")
	netnstest.MustSh(t, "tar -C "+dir+" -cf "+backup+" "+filepath.Base(d))
	for _, script := range []string{
		"echo 9 > " + d + "/ipopt/ttl",
		"echo 9 >> " + d + "/ipopt/ttl",
		"touch " + d + "/membership/239.8.8.8@ro0",
		"rm " + d + "/membership/239.7.7.7@ro0",
		"rm " + d + "/ipopt/ttl",
		"cp " + filepath.Join(sockDir(dir, other), "image.bin") + " " + d + "/image.bin",
		"chmod 0644 " + d + "/ipopt/ttl",
		"touch " + d + "/ipopt/ttl",
		"tar -C " + dir + " -xf " + backup,
	} {
		out, code := netnstest.Sh(t, script)
		if code == 0 || !strings.Contains(out, "Read-only file system") {
			t.Errorf("%s: exit %d: %q, want Read-only file system", script, code, out)
		}
	}
	if after := netnstest.ReadFile(t, filepath.Join(d, "image.bin")); after != before {
		t.Error("the socket changed through a read-only mount")
	}
	if got := s.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 64 {
		t.Errorf("ttl %d", got)
	}
	if !member(t, s, "239.7.7.7", ifi) || member(t, s, "239.8.8.8", ifi) {
		t.Error("memberships changed through a read-only mount")
	}
	if lines := logs.Lines(""); len(lines) > 0 {
		t.Errorf("the tree logged, so a change reached it: %q", lines)
	}
}
