package integration

// inetcr restore --match: saved state put back onto the sockets of
// programs that were killed and started again, with new inodes, matched
// by identity (docs/restart.md).

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// buildInetcr builds the command for tests that run it as a user does.
func buildInetcr(t *testing.T) string {
	t.Helper()
	netnstest.Require(t, "go")
	bin := filepath.Join(t.TempDir(), "inetcr")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/inetcr/inetcr/cmd/inetcr").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// inetcr runs the built command in dir (so that a test can see it wrote
// nothing there) and returns its output and exit status.
func inetcr(t *testing.T, bin, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// startSocat starts a socat receiver on port with a membership of group
// on dev, and waits until the socket is listed (ss).
func startSocat(t *testing.T, port int, group, dev string) *exec.Cmd {
	t.Helper()
	netnstest.Require(t, "socat", "ss")
	cmd := exec.Command("socat", "-u", fmt.Sprintf("UDP4-RECV:%d,ip-add-membership=%s:%s", port, group, dev), "/dev/null")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(netnstest.Run(t, "ss", "-uanH", fmt.Sprintf("sport = :%d", port)), strconv.Itoa(port)) {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("socat did not bind port %d", port)
		}
	}
}

// stop kills a program and waits for it.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// server is the python3 program of the restart test: a UDP socket on
// 0.0.0.0:5401 and a TCP listener on 0.0.0.0:5402, opened in that order
// each time it starts.
func server(t *testing.T) (udp, tcp *netnstest.Sock) {
	t.Helper()
	h := netnstest.NewHolder(t)
	udp = h.Socket("udp")
	udp.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5401})
	tcp = h.Socket("tcp")
	tcp.SetInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	tcp.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5402})
	tcp.Must("listen", nil)
	return udp, tcp
}

// socatDir finds the tree directory of the socket process pid holds,
// through the info files.
func socatDir(t *testing.T, mnt string, pid int) string {
	t.Helper()
	for _, name := range netnstest.Names(t, mnt) {
		info, err := os.ReadFile(filepath.Join(mnt, name, "info"))
		if err == nil && strings.Contains(string(info), fmt.Sprintf("holder %d ", pid)) {
			return filepath.Join(mnt, name)
		}
	}
	t.Fatalf("no socket of pid %d in the tree", pid)
	return ""
}

// TestMatchRestart is the scenario: a socat receiver with a
// membership and a python3 server whose options an operator changed
// through the tree are backed up with tar over the tree, killed, started
// again (with new inodes, and the interface made again with a new
// ifindex), and restore --match puts every value and membership back,
// checked inside the holder, with ss, ip maddr and /proc/net/mcfilter.
func TestMatchRestart(t *testing.T) {
	netnstest.Require(t, "tar", "gzip", "socat", "ss", "ip")
	bin := buildInetcr(t)
	netnstest.Veth(t, "mt0", "10.41.0.1/24")
	quietIGMP(t, "mt0")
	mnt := mount(t)
	work := t.TempDir()

	socat := startSocat(t, 5400, "239.41.0.1", "mt0")
	udp, tcp := server(t)
	sdir, udir, tdir := socatDir(t, mnt, socat.Process.Pid), sockDir(mnt, udp), sockDir(mnt, tcp)
	netnstest.MustSh(t, strings.Join([]string{
		"echo 150000 > " + sdir + "/sockopt/rcvbuf",
		"touch " + sdir + "/membership/239.41.0.3@mt0",
		"echo 99 > " + udir + "/ipopt/ttl",
		"echo 0x10 > " + udir + "/ipopt/tos",
		"echo 5 > " + udir + "/ipopt/multicast_ttl",
		"echo 180000 > " + udir + "/sockopt/rcvbuf",
		"touch " + udir + "/membership/239.41.0.2@mt0",
		"printf 'mode include\\nsources 10.41.0.9\\n' > " + udir + "/membership/239.41.0.2@mt0",
		"echo 77 > " + tdir + "/ipopt/ttl",
		"echo 1 > " + tdir + "/sockopt/keepalive",
	}, " && "))
	state := filepath.Join(work, "state.tgz")
	netnstest.MustSh(t, "tar -C "+mnt+" -czf "+state+" .")

	// The restart: both programs die, the interface is made again (a new
	// ifindex, so a saved index would be stale), both start again.
	stop(socat)
	udp.H.Stop()
	old, err := net.InterfaceByName("mt0")
	if err != nil {
		t.Fatal(err)
	}
	oldIfi := old.Index
	netnstest.Run(t, "ip", "link", "del", "mt0")
	newIfi := netnstest.Veth(t, "mt0", "10.41.0.1/24")
	if newIfi == oldIfi {
		t.Fatalf("mt0 kept ifindex %d", newIfi)
	}
	socat = startSocat(t, 5400, "239.41.0.1", "mt0")
	udp2, tcp2 := server(t)
	if udp2.Inode == udp.Inode || tcp2.Inode == tcp.Inode {
		t.Fatal("the restarted server's sockets kept their inodes")
	}
	if got := udp2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); got != 64 {
		t.Fatalf("the restarted server's ttl is %d before the restore", got)
	}

	out, code := inetcr(t, bin, work, "restore", "--match", state, "--dry-run", "--wait", "10s")
	t.Logf("$ inetcr restore --match state.tgz --dry-run --wait 10s  # exit %d\n%s", code, out)
	if code != 1 {
		t.Fatalf("dry run: exit %d, want 1 (differs)", code)
	}
	for _, want := range []string{
		" 47 IPOPT_TTL                        64 -> 99",
		" 46 IPOPT_TOS                        0 -> 16",
		" 55   IPOPT_MREQ 239.41.0.2@mt0      (not joined) -> include 10.41.0.9",
		" 55   IPOPT_MREQ 239.41.0.3@mt0      (not joined) -> exclude",
		" 11 SOCKOPT_KEEPALIVE                0 -> 1",
		"3 saved sockets: 3 would change",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q", want)
		}
	}
	if got := udp2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); got != 64 {
		t.Errorf("the dry run changed ttl to %d", got)
	}

	out, code = inetcr(t, bin, work, "restore", "--match", state)
	t.Logf("$ inetcr restore --match state.tgz  # exit %d\n%s", code, out)
	if code != 0 {
		t.Fatalf("restore: exit %d", code)
	}

	// Every value, checked where the program holds it.
	for _, c := range []struct {
		s          *netnstest.Sock
		level, opt int
		want       int
	}{
		{udp2, syscall.IPPROTO_IP, syscall.IP_TTL, 99},
		{udp2, syscall.IPPROTO_IP, syscall.IP_TOS, 0x10},
		{udp2, syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, 5},
		{udp2, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 180000},
		{tcp2, syscall.IPPROTO_IP, syscall.IP_TTL, 77},
		{tcp2, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
	} {
		if got := c.s.GetInt(c.level, c.opt); got != c.want {
			t.Errorf("getsockopt(%d, %d) in the server: %d, want %d", c.level, c.opt, got, c.want)
		}
	}
	if !member(t, udp2, "239.41.0.2", newIfi) {
		t.Error("the server's socket is not in 239.41.0.2 on the new mt0")
	}
	// The filter, as the server's own getsockopt(MCAST_MSFILTER) reads it.
	var msf struct {
		Mode    int      `json:"mode"`
		Sources []string `json:"sources"`
	}
	udp2.H.Must(map[string]any{"op": "msfilter", "fd": udp2.Fd, "group": "239.41.0.2", "ifindex": newIfi}, &msf)
	if msf.Mode != 1 || !slices.Equal(msf.Sources, []string{"10.41.0.9"}) {
		t.Errorf("the server's filter of 239.41.0.2: mode %d, sources %v; want INCLUDE (1) 10.41.0.9", msf.Mode, msf.Sources)
	}
	maddr := netnstest.Run(t, "ip", "maddr", "show", "dev", "mt0")
	for _, g := range []string{"239.41.0.1", "239.41.0.2", "239.41.0.3"} {
		if !strings.Contains(maddr, g) {
			t.Errorf("ip maddr show dev mt0 lacks %s:\n%s", g, maddr)
		}
	}
	if ss := netnstest.Run(t, "ss", "-uamnH", "sport = :5400"); !strings.Contains(ss, "rb150000,") {
		t.Errorf("ss shows socat's receive buffer as:\n%s", ss)
	}

	out, code = inetcr(t, bin, work, "restore", "--match", state, "--dry-run")
	t.Logf("$ inetcr restore --match state.tgz --dry-run  # exit %d\n%s", code, out)
	if code != 0 || strings.Count(out, ": no difference\n") != 3 {
		t.Errorf("a dry run after the restore: exit %d, want 0 and three sockets without a difference", code)
	}
}

// TestMatchReusePort: two sockets on one port (SO_REUSEPORT) are told
// apart by their holder's fds when the archive has them, and an image
// alone, which does not, is reported as ambiguous and restores nothing.
func TestMatchReusePort(t *testing.T) {
	netnstest.Require(t, "tar")
	bin := buildInetcr(t)
	mnt := mount(t)
	work := t.TempDir()
	open := func() (a, b *netnstest.Sock) {
		h := netnstest.NewHolder(t)
		a, b = h.Socket("udp"), h.Socket("udp")
		for _, s := range []*netnstest.Sock{a, b} {
			s.SetInt(syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			s.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5600})
		}
		return a, b
	}
	a, b := open()
	netnstest.MustSh(t, fmt.Sprintf("echo 33 > %s/ipopt/ttl && echo 44 > %s/ipopt/ttl && cp %s/image.bin %s/a.bin",
		sockDir(mnt, a), sockDir(mnt, b), sockDir(mnt, a), work))
	state := filepath.Join(work, "state.tar")
	netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s %d %d", mnt, state, a.Inode, b.Inode))
	a.H.Stop()
	a2, b2 := open()

	out, code := inetcr(t, bin, work, "restore", "--match", filepath.Join(work, "a.bin"))
	t.Logf("$ inetcr restore --match a.bin  # exit %d\n%s", code, out)
	if code != 2 || !strings.Contains(out, "ambiguous: 2 live sockets have its identity") ||
		!strings.Contains(out, strconv.FormatUint(a2.Inode, 10)) || !strings.Contains(out, strconv.FormatUint(b2.Inode, 10)) {
		t.Errorf("an image of one of two sockets on one port: exit %d, want 2 and both named as candidates", code)
	}
	if ga, gb := a2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL), b2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); ga != 64 || gb != 64 {
		t.Errorf("an ambiguous restore changed the ttls to %d and %d", ga, gb)
	}

	out, code = inetcr(t, bin, work, "restore", "--match", state)
	t.Logf("$ inetcr restore --match state.tar  # exit %d\n%s", code, out)
	if code != 0 {
		t.Fatalf("the tar, whose info files name the fds: exit %d", code)
	}
	if ga, gb := a2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL), b2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); ga != 33 || gb != 44 {
		t.Errorf("after the restore the ttls are %d and %d, want 33 (fd %d) and 44 (fd %d)", ga, gb, a2.Fd, b2.Fd)
	}
}

// TestMatchPartial: an archive that matches only in part (a socket the
// restarted program no longer opens, a membership whose interface is
// gone) restores nothing and exits 2, saying why for each; with
// --partial it restores the rest and exits 0.
func TestMatchPartial(t *testing.T) {
	netnstest.Require(t, "tar")
	bin := buildInetcr(t)
	netnstest.Veth(t, "gone0", "10.42.0.1/24")
	mnt := mount(t)
	work := t.TempDir()
	open := func(ports ...int) []*netnstest.Sock {
		h := netnstest.NewHolder(t)
		var out []*netnstest.Sock
		for _, p := range ports {
			s := h.Socket("udp")
			s.Must("bind", map[string]any{"addr": "0.0.0.0", "port": p})
			out = append(out, s)
		}
		return out
	}
	s := open(5701, 5702, 5703)
	netnstest.MustSh(t, fmt.Sprintf("echo 55 > %s/ipopt/ttl && echo 66 > %s/ipopt/ttl && touch %s/membership/239.42.0.1@gone0 && echo 77 > %s/ipopt/ttl",
		sockDir(mnt, s[0]), sockDir(mnt, s[1]), sockDir(mnt, s[1]), sockDir(mnt, s[2])))
	state := filepath.Join(work, "state.tar")
	netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s .", mnt, state))
	s[0].H.Stop()
	netnstest.Run(t, "ip", "link", "del", "gone0")
	n := open(5701, 5702) // 5703 is no longer opened

	out, code := inetcr(t, bin, work, "restore", "--match", state, "--dry-run")
	t.Logf("$ inetcr restore --match state.tar --dry-run  # exit %d\n%s", code, out)
	for _, want := range []string{
		"no match: no live udp socket on 0.0.0.0:5703",
		"cannot be restored: no such interface in the socket's network namespace for membership 239.42.0.1@gone0",
		" 47 IPOPT_TTL                        64 -> 55",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q", want)
		}
	}
	if code != 2 {
		t.Errorf("dry run: exit %d, want 2", code)
	}

	out, code = inetcr(t, bin, work, "restore", "--match", state)
	t.Logf("$ inetcr restore --match state.tar  # exit %d\n%s", code, out)
	if code != 2 || !strings.Contains(out, "nothing was restored") {
		t.Errorf("restore of a partial match: exit %d, want 2 and nothing restored", code)
	}
	if got := n[0].GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); got != 64 {
		t.Errorf("a refused partial restore set the ttl of :5701 to %d", got)
	}

	out, code = inetcr(t, bin, work, "restore", "--match", state, "--partial")
	t.Logf("$ inetcr restore --match state.tar --partial  # exit %d\n%s", code, out)
	if code != 0 {
		t.Errorf("restore --partial: exit %d, want 0", code)
	}
	if a, b := n[0].GetInt(syscall.IPPROTO_IP, syscall.IP_TTL), n[1].GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); a != 55 || b != 64 {
		t.Errorf("after --partial the ttls are %d and %d, want 55 (restored) and 64 (its membership's interface is gone: not restored)", a, b)
	}
}

// TestMatchHostileArchives: each hostile archive, made with GNU tar, is
// refused before anything is restored: the socket it would change keeps
// its value and nothing is written in the directory restore runs in. The
// same archive without the hostile member restores.
func TestMatchHostileArchives(t *testing.T) {
	netnstest.Require(t, "tar", "gzip", "truncate", "mknod")
	bin := buildInetcr(t)
	mnt := mount(t)
	work := t.TempDir()
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	s.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5801})
	ino := strconv.FormatUint(s.Inode, 10)
	dir := sockDir(mnt, s)
	netnstest.MustSh(t, "echo 91 > "+dir+"/ipopt/ttl")
	saved := filepath.Join(work, "saved")
	netnstest.MustSh(t, fmt.Sprintf("mkdir %[1]s && tar -C %[2]s -cf - %[3]s | tar -C %[1]s -xf - && echo 64 > %[4]s/ipopt/ttl", saved, mnt, ino, dir))

	// Each case edits a copy of the saved tree, then archives it.
	for _, c := range []struct {
		name, edit, tar, want string
	}{
		{"dot dot", "", "tar -cf x.tar --transform 's,^,../../,' " + ino, `path with ".."`},
		{"symbolic link", "rm " + ino + "/ipopt/tos && ln -s /etc/shadow " + ino + "/ipopt/tos", "", "symbolic link member"},
		{"hard link", "rm " + ino + "/ipopt/tos && ln " + ino + "/ipopt/ttl " + ino + "/ipopt/tos", "", "hard link member"},
		{"device", "rm " + ino + "/ipopt/tos && mknod " + ino + "/ipopt/tos c 1 3", "", "character device member"},
		{"huge member", "truncate -s 8M " + ino + "/ipopt/tos", "", "huge member: 8388608 bytes"},
		{"image.bin not an image", "echo junk > " + ino + "/image.bin", "", ino + "/image.bin: not an image"},
		{"truncated gzip", "", "tar -czf full.tgz " + ino + " && head -c $(($(stat -c %s full.tgz) / 2)) full.tgz > x.tar", "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			run := t.TempDir() // where restore runs: it must stay empty
			script := fmt.Sprintf("cp -a %s/%s %s/ && cd %s", saved, ino, tmp, tmp)
			if c.edit != "" {
				script += " && " + c.edit
			}
			if c.tar == "" {
				c.tar = "tar -cf x.tar " + ino
			}
			netnstest.MustSh(t, script+" && "+c.tar+" 2>/dev/null; test -s x.tar")
			out, code := inetcr(t, bin, run, "restore", "--match", filepath.Join(tmp, "x.tar"))
			t.Logf("%s: exit %d: %s", c.name, code, strings.TrimSpace(out))
			if code != 2 || !strings.Contains(out, c.want) || !strings.Contains(out, "nothing was restored") {
				t.Errorf("exit %d, want 2 and a refusal saying %q", code, c.want)
			}
			if got := s.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); got != 64 {
				t.Errorf("a refused archive set the ttl to %d", got)
			}
			if names := netnstest.Names(t, run); len(names) != 0 {
				t.Errorf("restore wrote %v", names)
			}
		})
	}
	// The archive without a hostile member is restored: the checks above
	// could fail.
	netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s/good.tar %s", saved, work, ino))
	if out, code := inetcr(t, bin, work, "restore", "--match", work+"/good.tar"); code != 0 {
		t.Fatalf("the clean archive: exit %d: %s", code, out)
	}
	if got := s.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL); got != 91 {
		t.Errorf("the clean archive set the ttl to %d, want 91", got)
	}
}

// TestMatchSubset: an archive of part of a socket's directory (info and
// one option file, no image.bin) sets that option and nothing else.
func TestMatchSubset(t *testing.T) {
	netnstest.Require(t, "tar")
	bin := buildInetcr(t)
	mnt := mount(t)
	work := t.TempDir()
	open := func() *netnstest.Sock {
		s := netnstest.NewHolder(t).Socket("udp")
		s.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5901})
		return s
	}
	s := open()
	ino := strconv.FormatUint(s.Inode, 10)
	netnstest.MustSh(t, "echo 42 > "+sockDir(mnt, s)+"/ipopt/ttl")
	sub := filepath.Join(work, "sub.tar")
	netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s %s/info %s/ipopt/ttl", mnt, sub, ino, ino))
	s.H.Stop()
	s2 := open()
	s2.SetInt(syscall.IPPROTO_IP, syscall.IP_TOS, 8) // the program's own, not in the archive
	out, code := inetcr(t, bin, work, "restore", "--match", sub)
	t.Logf("$ inetcr restore --match sub.tar  # exit %d\n%s", code, out)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if ttl, tos := s2.GetInt(syscall.IPPROTO_IP, syscall.IP_TTL), s2.GetInt(syscall.IPPROTO_IP, syscall.IP_TOS); ttl != 42 || tos != 8 {
		t.Errorf("ttl %d tos %d, want 42 from the archive and 8 as the program set it", ttl, tos)
	}
}
