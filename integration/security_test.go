package integration

// Per-user access and no borrowed privilege (docs/security.md), checked as
// real unprivileged users against a mount made by root with --allow-other,
// on sockets that belong to those users.

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"github.com/inetcr/inetcr/nodes"
	"golang.org/x/sys/unix"
)

// bound binds a socket to 127.0.0.1 with a kernel-chosen port, so that
// sock_diag lists it.
func bound(s *netnstest.Sock) *netnstest.Sock {
	s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
	return s
}

// userDir is a scratch directory that uid owns.
func userDir(t *testing.T, uid int) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "inetcr-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOwnersAndModes(t *testing.T) {
	netnstest.Require(t, "tar")
	mnt, _ := publicMount(t, nil)
	a := bound(holderAs(t, userA).Socket("udp"))
	r := bound(netnstest.NewHolder(t).Socket("udp"))
	for _, c := range []struct {
		s   *netnstest.Sock
		uid uint32
	}{{a, userA}, {r, 0}} {
		for path, mode := range map[string]uint32{
			"": 0o700, "ipopt": 0o700, "sockopt": 0o700, "membership": 0o700,
			"image.bin": 0o600, "ipopt/ttl": 0o600, "sockopt/mark": 0o600, "info": 0o600,
		} {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(sockDir(mnt, c.s), path), &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&0o7777 != mode || st.Uid != c.uid {
				t.Errorf("%d/%s: mode %o uid %d, want %o uid %d", c.s.Inode, path, st.Mode&0o7777, st.Uid, mode, c.uid)
			}
		}
	}
	// An archive with the modes of older trees (0755, 0644) extracts, and
	// cp -p of a plain 0644 file restores: group and other bits of a chmod
	// are ignored, and the modes stay.
	tmp := t.TempDir()
	ino := filepath.Base(sockDir(mnt, r))
	netnstest.MustSh(t, fmt.Sprintf("tar -C %s --mode=go+rX -cf %s/old.tar %s", mnt, tmp, ino))
	if out, code := netnstest.Sh(t, fmt.Sprintf("tar -C %s -xf %s/old.tar 2>&1", mnt, tmp)); code != 0 || out != "" {
		t.Errorf("tar -x of an archive with 0644 files: exit %d: %s", code, out)
	}
	netnstest.MustSh(t, fmt.Sprintf("cp %[1]s/image.bin %[2]s/x && chmod 644 %[2]s/x && cp -p %[2]s/x %[1]s/image.bin", sockDir(mnt, r), tmp))
	if fi, err := os.Stat(filepath.Join(sockDir(mnt, r), "image.bin")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("image.bin after cp -p of a 0644 file: %v %v", fi.Mode(), err)
	}
	// Every socket is listed to every user (docs/security.md: not hidden).
	out := mustAsUser(t, userB, "ls "+mnt)
	for _, s := range []*netnstest.Sock{a, r} {
		if !strings.Contains(out, strconv.FormatUint(s.Inode, 10)) {
			t.Errorf("uid %d does not see %d in the listing:\n%s", userB, s.Inode, out)
		}
	}
}

func TestUserAccess(t *testing.T) {
	netnstest.Require(t, "tar")
	ifi := netnstest.Veth(t, "ua0", "10.31.0.1/24")
	mnt, logs := publicMount(t, nil)
	ha := holderAs(t, userA)
	a, a2 := bound(ha.Socket("udp")), bound(ha.Socket("udp"))
	b := bound(holderAs(t, userB).Socket("udp"))
	r := bound(netnstest.NewHolder(t).Socket("udp"))
	da, db, dr := sockDir(mnt, a), sockDir(mnt, b), sockDir(mnt, r)

	// A reads and writes its own socket.
	if got := mustAsUser(t, userA, "cat "+da+"/ipopt/ttl"); got != "64\n" {
		t.Errorf("A reads its ttl: %q", got)
	}
	mustAsUser(t, userA, "echo 9 > "+da+"/ipopt/ttl")
	if got := a.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 9 {
		t.Errorf("A's echo 9: ttl %d in the holder", got)
	}
	if got := mustAsUser(t, userA, "cat "+da+"/info"); !strings.Contains(got, fmt.Sprintf("uid %d\n", userA)) {
		t.Errorf("A's info: %q", got)
	}
	mustAsUser(t, userA, fmt.Sprintf("touch %[1]s/membership/239.1.2.3@ua0 && ls %[1]s/membership && rm %[1]s/membership/239.1.2.3@ua0", da))
	// The leave is carried out at rm's exit, or by the next request of
	// another process, whichever comes first (docs/tree.md, "Unlink").
	netnstest.Names(t, filepath.Join(da, "membership"))
	if member(t, a, "239.1.2.3", ifi) {
		t.Error("A's rm did not leave")
	}
	netnstest.MustSh(t, "rm "+da+"/membership/239.1.2.3@ua0") // undo the probe's join
	if n := len(logs.Lines("msg=change", fmt.Sprintf("uid=%d", userA), fmt.Sprintf("socket=%d", a.Inode), "what=ipopt/ttl", "old=64", "new=9")); n != 1 {
		t.Errorf("%d log records of A's change of ttl:\n%s", n, strings.Join(logs.Lines("socket="+strconv.FormatUint(a.Inode, 10)), "\n"))
	}

	// A can neither read nor change B's socket, nor root's.
	for _, d := range []string{db, dr} {
		for _, script := range []string{
			"cat " + d + "/ipopt/ttl", "echo 9 > " + d + "/ipopt/ttl", "cat " + d + "/info",
			"ls " + d, "cat " + d + "/image.bin", "cp " + da + "/image.bin " + d + "/image.bin",
			"touch " + d + "/membership/239.1.2.3@ua0", "tar -C " + mnt + " -cf /dev/null " + filepath.Base(d),
		} {
			out, code := asUser(t, userA, script)
			if code == 0 || !strings.Contains(out, "Permission denied") {
				t.Errorf("A: %s: exit %d: %s (want Permission denied)", script, code, out)
			}
		}
	}
	for _, s := range []*netnstest.Sock{b, r} {
		if got := s.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 64 {
			t.Errorf("%d: ttl %d after A's attempts", s.Inode, got)
		}
	}

	// Root can.
	netnstest.MustSh(t, "cat "+db+"/ipopt/ttl && echo 10 > "+db+"/ipopt/ttl")
	if got := b.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 10 {
		t.Errorf("root's echo 10 on B's socket: ttl %d", got)
	}

	// tar and cp -a work for A on its own sockets, with the modes the
	// archive carries.
	tmp := userDir(t, userA)
	ino := filepath.Base(da)
	if out := mustAsUser(t, userA, fmt.Sprintf("tar -C %s -cf %s/a.tar %s 2>&1", mnt, tmp, ino)); out != "" {
		t.Errorf("A's tar -c said: %s", out)
	}
	want := netnstest.ReadFile(t, filepath.Join(da, "image.bin"))
	for _, opt := range []string{"", "--overwrite"} {
		mustAsUser(t, userA, "echo 33 > "+da+"/ipopt/ttl")
		if out, code := asUser(t, userA, fmt.Sprintf("tar -C %s -xf %s/a.tar %s 2>&1", mnt, tmp, opt)); code != 0 || out != "" {
			t.Errorf("A's tar -x %s: exit %d: %s", opt, code, out)
		}
		if netnstest.ReadFile(t, filepath.Join(da, "image.bin")) != want {
			t.Errorf("A's tar -x %s did not put the socket back (ttl %d)", opt, a.GetInt(unix.IPPROTO_IP, unix.IP_TTL))
		}
	}
	if out, code := asUser(t, userA, fmt.Sprintf("cp -a %s/. %s/ 2>&1", da, sockDir(mnt, a2))); code != 0 {
		t.Errorf("A's cp -a: exit %d: %s", code, out)
	}
	// Both are bound, and a bound socket keeps its address: compare values.
	if got := a2.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 9 {
		t.Errorf("ttl %d after A's cp -a of a socket with ttl 9", got)
	}
}

// privileged lists writes that need a capability nobody has.
func privileged(t *testing.T) []struct {
	file, value string
	level, opt  int
	needs       string
} {
	sysctl := func(name string) int {
		b, err := os.ReadFile("/proc/sys/net/core/" + name)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	return []struct {
		file, value string
		level, opt  int
		needs       string
	}{
		{"sockopt/priority", "7", unix.SOL_SOCKET, unix.SO_PRIORITY, "CAP_NET_ADMIN or CAP_NET_RAW"},
		{"sockopt/mark", "1", unix.SOL_SOCKET, unix.SO_MARK, "CAP_NET_ADMIN or CAP_NET_RAW"},
		{"sockopt/rcvbuf", strconv.Itoa(4 * sysctl("rmem_max")), unix.SOL_SOCKET, unix.SO_RCVBUF, "CAP_NET_ADMIN"},
		{"sockopt/sndbuf", strconv.Itoa(4 * sysctl("wmem_max")), unix.SOL_SOCKET, unix.SO_SNDBUF, "CAP_NET_ADMIN"},
		{"ipopt/transparent", "1", unix.IPPROTO_IP, unix.IP_TRANSPARENT, "CAP_NET_ADMIN or CAP_NET_RAW"},
	}
}

func TestNoBorrowedPrivilege(t *testing.T) {
	mnt, logs := publicMount(t, nil)
	ha := holderAs(t, userA)
	a := bound(ha.Socket("udp"))
	d := sockDir(mnt, a)
	for _, c := range privileged(t) {
		before := a.GetInt(c.level, c.opt)
		out, code := asUser(t, userA, fmt.Sprintf("echo %s > %s/%s", c.value, d, c.file))
		if code == 0 || !strings.Contains(out, "Operation not permitted") {
			t.Errorf("A: echo %s > %s: exit %d: %s (want Operation not permitted)", c.value, c.file, code, out)
		}
		if after := a.GetInt(c.level, c.opt); after != before {
			t.Errorf("%s: %d before A's refused write, %d after", c.file, before, after)
		}
		if len(logs.Lines("msg=refused", fmt.Sprintf("uid=%d", userA), "file="+c.file, "errno=EPERM", fmt.Sprintf("the kernel judged it as uid %d with no capabilities", userA))) == 0 {
			t.Errorf("no log record of the refusal of %s saying whom the kernel judged (it needs %s)", c.file, c.needs)
		}
	}
	// What needs no capability goes through.
	mustAsUser(t, userA, "echo 6 > "+d+"/sockopt/priority && echo 65536 > "+d+"/sockopt/rcvbuf")
	if got := a.GetInt(unix.SOL_SOCKET, unix.SO_PRIORITY); got != 6 {
		t.Errorf("A's priority 6: %d", got)
	}

	// The caller's capabilities count, not its uid: A with CAP_NET_ADMIN
	// may set a mark; root without capabilities may not, on its own socket.
	netAdmin := setpriv(userA, "--inh-caps=-all,+net_admin", "--ambient-caps=+net_admin", "--bounding-set=-all,+net_admin")
	if out, code := netnstest.RunArgv(t, append(netAdmin, "bash", "-c", "echo 5 > "+d+"/sockopt/mark")); code != 0 {
		t.Errorf("A with CAP_NET_ADMIN: echo 5 > mark: exit %d: %s", code, out)
	}
	if got := a.GetInt(unix.SOL_SOCKET, unix.SO_MARK); got != 5 {
		t.Errorf("mark %d after A with CAP_NET_ADMIN set 5", got)
	}
	r := bound(netnstest.NewHolder(t).Socket("udp"))
	rootNoCaps := []string{"setpriv", "--inh-caps=-all", "--bounding-set=-all", "bash", "-c"}
	out, code := netnstest.RunArgv(t, append(rootNoCaps, "echo 5 > "+sockDir(mnt, r)+"/sockopt/mark"))
	if code == 0 || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("root without capabilities: echo 5 > mark: exit %d: %s", code, out)
	}
	if got := r.GetInt(unix.SOL_SOCKET, unix.SO_MARK); got != 0 {
		t.Errorf("mark %d after root without capabilities tried 5", got)
	}
}

// TestRestoreBindNeedsCapability: an image.bin restore by A that would
// bind A's socket to a port below 1024 fails at close with the kernel's
// EACCES and leaves the socket unbound; a high port goes through.
func TestRestoreBindNeedsCapability(t *testing.T) {
	mnt, logs := publicMount(t, nil)
	ha := holderAs(t, userA)
	tmp := userDir(t, userA)
	for _, c := range []struct {
		port uint16
		ok   bool
	}{{80, false}, {1023, false}, {18080, true}} {
		s := ha.Socket("udp")
		p := filepath.Join(sockDir(mnt, s), "image.bin")
		before := netnstest.ReadFile(t, p)
		img, err := image.Decode([]byte(before))
		if err != nil {
			t.Fatal(err)
		}
		img.Local = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), c.port)
		src := filepath.Join(tmp, fmt.Sprintf("bind%d.bin", c.port))
		if err := os.WriteFile(src, img.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := asUser(t, userA, "cp "+src+" "+p)
		if c.ok {
			if code != 0 {
				t.Errorf("A: restore binding port %d: exit %d: %s", c.port, code, out)
			}
			continue
		}
		if code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("A: restore binding port %d: exit %d: %s (want Permission denied)", c.port, code, out)
		}
		if after := netnstest.ReadFile(t, p); after != before {
			t.Errorf("port %d: the refused restore changed the socket", c.port)
		}
		if len(logs.Lines("msg=refused", "op=restore", fmt.Sprintf("bind to 127.0.0.1:%d", c.port), "errno=EACCES", fmt.Sprintf("uid %d with no capabilities", userA))) == 0 {
			t.Errorf("no log record of the refused bind to %d", c.port)
		}
	}
}

// TestDefenseInDepth mounts the tree without default_permissions, so that
// the kernel checks nothing: the tree's own check still keeps A out of B's
// socket.
func TestDefenseInDepth(t *testing.T) {
	netnstest.Veth(t, "dd0", "10.32.0.1/24")
	dir, err := os.MkdirTemp("", "inetcr-nodp-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	logs := &netnstest.LogBuffer{}
	tree := nodes.New(nodes.Config{Backend: stock.NewStock(), Logger: logs.Logger()})
	zero := time.Duration(0)
	srv, err := gofs.Mount(dir, tree.Root(), &gofs.Options{
		MountOptions:    fuse.MountOptions{AllowOther: true, FsName: "inetcr", DirectMount: true},
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		NullPermissions: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Unmount(); os.Remove(dir) })
	a := bound(holderAs(t, userA).Socket("udp"))
	b := bound(holderAs(t, userB).Socket("udp"))
	da, db := sockDir(dir, a), sockDir(dir, b)
	mustAsUser(t, userA, "cat "+da+"/ipopt/ttl && echo 9 > "+da+"/ipopt/ttl && touch "+da+"/membership/239.5.5.5@dd0")
	for _, script := range []string{
		"cat " + db + "/ipopt/ttl", "echo 9 > " + db + "/ipopt/ttl", "cat " + db + "/info",
		"ls " + db + "/membership", "touch " + db + "/membership/239.5.5.5@dd0", "cp " + da + "/image.bin " + db + "/image.bin",
	} {
		out, code := asUser(t, userA, script)
		if code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("A without default_permissions: %s: exit %d: %s (want Permission denied)", script, code, out)
		}
	}
	if got := b.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 64 {
		t.Errorf("B's ttl %d after A's attempts", got)
	}
	if len(logs.Lines("msg=refused", fmt.Sprintf("uid=%d", userA), fmt.Sprintf("socket=%d", b.Inode), "errno=EACCES")) < 4 {
		t.Errorf("refusals not logged:\n%s", strings.Join(logs.Lines("msg=refused"), "\n"))
	}
}
