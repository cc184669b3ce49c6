package integration

// AF_INET6 sockets in the tree (issue 13): a dual-stack python3 server,
// tar and cp of AF_INET6 sockets' state, and avahi-daemon's mDNS sockets
// with their IPv6 group ff02::fb.

import (
	"bufio"
	"fmt"
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

// dualStackServer is a UDP server on [::]:6000 with IPV6_V6ONLY off: it
// answers every datagram, IPv4 (v4-mapped) and IPv6 alike, with "pong".
const dualStackServer = `
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 6000))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(b"pong", peer)
`

// pingClient asks the server once over IPv4 and once over IPv6 and prints
// the TTL and the hop limit its answers came with (IP_RECVTTL 12,
// IPV6_RECVHOPLIMIT 51; python3 names neither): on loopback, what the
// server's socket sends with.
const pingClient = `
import socket, sys
def ask(fam, addr, lvl, recv, cm):
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.settimeout(5)
    c.setsockopt(lvl, recv, 1)
    c.sendto(b"ping", (addr, 6000))
    data, anc, flags, peer = c.recvmsg(100, 1024)
    for l, t, d in anc:
        if l == lvl and t == cm:
            return int.from_bytes(d[:4], sys.byteorder)
print(ask(socket.AF_INET, "127.0.0.1", socket.IPPROTO_IP, 12, socket.IP_TTL),
      ask(socket.AF_INET6, "::1", socket.IPPROTO_IPV6, 51, 52))
`

// findHolder waits for the socket that pid holds to show in the tree and
// returns its directories whose info says match.
func findHolder(t *testing.T, mnt string, pid int, match string) []string {
	t.Helper()
	var dirs []string
	for deadline := time.Now().Add(10 * time.Second); len(dirs) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, name := range netnstest.Names(t, mnt) {
			info, err := os.ReadFile(filepath.Join(mnt, name, "info"))
			if err == nil && strings.Contains(string(info), fmt.Sprintf("holder %d ", pid)) && strings.Contains(string(info), match) {
				dirs = append(dirs, filepath.Join(mnt, name))
			}
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no socket of pid %d with %q shows in the tree", pid, match)
	}
	return dirs
}

// rowNames lists the rows of a directory for a socket family and type, as
// a tree of the stock engine shows them (treeRows).
func rowNames(family, typ uint16, dir string) []string {
	var out []string
	for _, o := range treeRows(family, typ) {
		if o.Dir == dir {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return out
}

// A dual-stack python3 server's socket is in the tree with its IPv4 and
// its IPv6 options, and both apply to its traffic: the TTL of its IPv4
// answers and the hop limit of its IPv6 ones follow the files.
func TestDualStackServer(t *testing.T) {
	netnstest.Require(t, "python3", "ss", "bash")
	netnstest.Run(t, "ip", "link", "set", "lo", "up")
	mnt := mount(t)
	srv := exec.Command("python3", "-u", "-c", dualStackServer)
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	if sc := bufio.NewScanner(out); !sc.Scan() || sc.Text() != "ready" {
		t.Fatal("the server did not start")
	}
	// ss writes a dual-stack socket bound to [::] as *:6000.
	if ss := netnstest.Run(t, "ss", "-uln"); !strings.Contains(ss, "*:6000") {
		t.Fatalf("ss does not show *:6000:\n%s", ss)
	}
	dir := findHolder(t, mnt, srv.Process.Pid, "local [::]:6000\n")[0]
	info := netnstest.ReadFile(t, filepath.Join(dir, "info"))
	for _, want := range []string{"family AF_INET6\n", "protocol udp (17)\n", "state UNCONN\n", "peer [::]:0\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	if got := netnstest.Names(t, dir); !slices.Equal(got, []string{"image.bin", "info", "ip6opt", "ipopt", "membership", "sockopt", "udpopt"}) {
		t.Errorf("directory: %v", got)
	}
	for _, d := range []string{"ipopt", "ip6opt"} {
		if got, want := netnstest.Names(t, filepath.Join(dir, d)), rowNames(unix.AF_INET6, unix.SOCK_DGRAM, d); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s: %v, want %v", d, got, want)
		}
	}
	// freebind and transparent are one bit for both levels: ip6opt has them.
	for _, f := range []string{"ipopt/freebind", "ipopt/transparent"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s on an AF_INET6 socket: %v", f, err)
		}
	}
	if got := netnstest.ReadFile(t, filepath.Join(dir, "ip6opt", "v6only")); got != "0\n" {
		t.Errorf("ip6opt/v6only says %q", got)
	}
	ping := func() string {
		t.Helper()
		return strings.TrimSpace(netnstest.MustSh(t, "python3 -c '"+pingClient+"'"))
	}
	if got := ping(); got != "64 64" {
		t.Errorf("before: TTL and hop limit %q, want 64 64", got)
	}
	netnstest.MustSh(t, fmt.Sprintf("bash -c 'echo 9 > %s/ipopt/ttl && echo 7 > %s/ip6opt/unicast_hops'", dir, dir))
	if got := ping(); got != "9 7" {
		t.Errorf("after echo 9 > ipopt/ttl, 7 > ip6opt/unicast_hops: %q, want 9 7", got)
	}
	// v6only cannot change on a bound socket: the write fails, nothing
	// changes, IPv4 still reaches the server.
	msg, code := netnstest.Sh(t, fmt.Sprintf("bash -c 'echo 1 > %s/ip6opt/v6only' 2>&1", dir))
	if code == 0 || !strings.Contains(msg, "Invalid argument") {
		t.Errorf("echo 1 > ip6opt/v6only on a bound socket: exit %d: %s", code, msg)
	}
	if got := netnstest.ReadFile(t, filepath.Join(dir, "ip6opt", "v6only")); got != "0\n" {
		t.Errorf("ip6opt/v6only says %q after the refused write", got)
	}
	if got := ping(); got != "9 7" {
		t.Errorf("after the refused write: %q, want 9 7", got)
	}
}

// member6 reports whether the holder's socket is in the IPv6 group on the
// interface: joining it again fails with EADDRINUSE.
func member6(t *testing.T, s *netnstest.Sock, group string, ifindex int) bool {
	t.Helper()
	err := s.Do("join6", map[string]any{"group": group, "ifindex": ifindex})
	if err == nil {
		s.Must("leave6", map[string]any{"group": group, "ifindex": ifindex})
		return false
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("probe join %s: %v", group, err)
	}
	return true
}

// tar -c of an AF_INET6 socket's directory, then a change, then tar -x (with
// the defaults and with --overwrite) puts every option and both families'
// groups back.
func TestIPv6TarRoundTrip(t *testing.T) {
	netnstest.Require(t, "tar", "bash")
	ifi := netnstest.Veth6(t, "t6", "2001:db8:76::1/64")
	netnstest.Run(t, "ip", "addr", "add", "10.76.0.1/24", "dev", "t6")
	mnt := mount(t)
	h := netnstest.NewHolder(t)
	s := h.Socket6("udp")
	s.Must("bind", map[string]any{"addr": "::", "port": 0})
	s.SetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 42)
	s.SetInt(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	s.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 43)
	s.Must("join6", map[string]any{"group": "ff02::fb", "ifindex": ifi})
	s.Must("join6_source", map[string]any{"group": "ff35::76", "ifindex": ifi, "source": "2001:db8:76::9"})
	s.Must("join", map[string]any{"group": "224.0.0.251", "ifindex": ifi})
	dir := sockDir(mnt, s)
	ino := strconv.FormatUint(s.Inode, 10)
	want := netnstest.ReadFile(t, filepath.Join(dir, "image.bin"))
	backup := filepath.Join(t.TempDir(), "backup.tar")
	if out := netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s %s 2>&1", mnt, backup, ino)); out != "" {
		t.Fatalf("tar -c said: %s", out)
	}
	list := netnstest.MustSh(t, "tar -tf "+backup)
	for _, f := range []string{"/image.bin", "/ip6opt/unicast_hops", "/ipopt/ttl", "/membership/ff02::fb@t6", "/membership/ff35::76@t6", "/membership/224.0.0.251@t6"} {
		if !strings.Contains(list, ino+f+"\n") {
			t.Errorf("archive lacks %s:\n%s", f, list)
		}
	}
	wantMembers := []string{"224.0.0.251@t6", "ff02::fb@t6", "ff35::76@t6"}
	for _, opt := range []string{"", "--overwrite"} {
		netnstest.MustSh(t, fmt.Sprintf("bash -c 'echo 7 > %[1]s/ip6opt/unicast_hops && echo 0 > %[1]s/ip6opt/recvpktinfo && echo 5 > %[1]s/ipopt/ttl && rm %[1]s/membership/ff02::fb@t6 && touch %[1]s/membership/ff02::1:5@t6'", dir))
		if netnstest.ReadFile(t, filepath.Join(dir, "image.bin")) == want {
			t.Fatal("the change changed nothing")
		}
		out, code := netnstest.Sh(t, fmt.Sprintf("tar -C %s -xf %s %s 2>&1", mnt, backup, opt))
		if code != 0 || out != "" {
			t.Errorf("tar -x %s: exit %d: %s", opt, code, out)
		}
		if netnstest.ReadFile(t, filepath.Join(dir, "image.bin")) != want {
			t.Errorf("tar -x %s: image differs", opt)
		}
		if got := s.GetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS); got != 42 {
			t.Errorf("tar -x %s: hop limit %d in the holder", opt, got)
		}
		if got := s.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 43 {
			t.Errorf("tar -x %s: IPv4 TTL %d in the holder", opt, got)
		}
		if !member6(t, s, "ff02::fb", ifi) || member6(t, s, "ff02::1:5", ifi) {
			t.Errorf("tar -x %s: IPv6 groups not as archived", opt)
		}
		if got := netnstest.Names(t, filepath.Join(dir, "membership")); !slices.Equal(got, wantMembers) {
			t.Errorf("tar -x %s: memberships %v, want %v", opt, got, wantMembers)
		}
		if got := netnstest.ReadFile(t, filepath.Join(dir, "membership", "ff35::76@t6")); !strings.Contains(got, "mode include\nsources 2001:db8:76::9\n") {
			t.Errorf("tar -x %s: source filter %q", opt, got)
		}
	}
}

// cp of image.bin between two AF_INET6 sockets clones the state; an
// AF_INET image onto an AF_INET6 socket fails at close and changes
// nothing.
func TestIPv6ImageCopy(t *testing.T) {
	netnstest.Require(t, "ip")
	ifi := netnstest.Veth6(t, "c6", "2001:db8:c6::1/64")
	mnt := mount(t)
	h := netnstest.NewHolder(t)
	a, b := h.Socket6("udp"), h.Socket6("udp")
	a.SetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 99)
	a.SetInt(unix.IPPROTO_IPV6, unix.IPV6_TCLASS, 0x28)
	a.SetInt(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	a.Must("join6", map[string]any{"group": "ff15::c6", "ifindex": ifi})
	copyImage(t, mnt, a, b)
	for _, c := range []struct{ opt, want int }{{unix.IPV6_UNICAST_HOPS, 99}, {unix.IPV6_TCLASS, 0x28}, {unix.IPV6_V6ONLY, 1}} {
		if got := b.GetInt(unix.IPPROTO_IPV6, c.opt); got != c.want {
			t.Errorf("getsockopt(IPPROTO_IPV6, %d) in b's holder: %d, want %d", c.opt, got, c.want)
		}
	}
	if !member6(t, b, "ff15::c6", ifi) {
		t.Error("b did not join ff15::c6")
	}
	if maddr := netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "c6"); !strings.Contains(maddr, "ff15::c6") {
		t.Errorf("ip -6 maddr does not show ff15::c6:\n%s", maddr)
	}

	// An AF_INET socket's image onto an AF_INET6 socket, and back.
	v4 := h.Socket("udp")
	v4i, bi := filepath.Join(sockDir(mnt, v4), "image.bin"), filepath.Join(sockDir(mnt, b), "image.bin")
	for _, c := range []struct{ from, to string }{{v4i, bi}, {bi, v4i}} {
		before := netnstest.ReadFile(t, c.to)
		out, code := netnstest.Sh(t, fmt.Sprintf("cp %s %s 2>&1", c.from, c.to))
		if code == 0 || !strings.Contains(out, "Invalid argument") {
			t.Errorf("cp %s %s: exit %d: %s", c.from, c.to, code, out)
		}
		if netnstest.ReadFile(t, c.to) != before {
			t.Errorf("the refused copy changed %s", c.to)
		}
	}
}

// avahiConf is avahi-daemon's configuration for the test: IPv6 on, one
// interface, no D-Bus, nothing published but the host's addresses.
const avahiConf = `[server]
use-ipv4=yes
use-ipv6=yes
allow-interfaces=av6
enable-dbus=no
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
`

// avahi-daemon's mDNS sockets: its AF_INET6 one has joined ff02::fb on the
// interface it serves (ip -6 maddr agrees), its AF_INET one 224.0.0.251.
// rm of the IPv6 membership file leaves the group (ip -6 maddr no longer
// shows it), touch joins it again.
func TestAvahiJoinsFF02FB(t *testing.T) {
	netnstest.Require(t, "avahi-daemon", "ip")
	ifi := netnstest.Veth6(t, "av6", "fe80::5/64")
	netnstest.Run(t, "ip", "addr", "add", "10.78.0.1/24", "dev", "av6")
	conf := filepath.Join(t.TempDir(), "avahi-daemon.conf")
	if err := os.WriteFile(conf, []byte(avahiConf), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := mount(t)
	avahi := exec.Command("avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", conf)
	var log strings.Builder
	avahi.Stdout, avahi.Stderr = &log, &log
	if err := avahi.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { avahi.Process.Kill(); avahi.Wait() })
	dir := findHolder(t, mnt, avahi.Process.Pid, "family AF_INET6\n")[0]
	v4dir := findHolder(t, mnt, avahi.Process.Pid, "family AF_INET\n")[0]
	if info := netnstest.ReadFile(t, filepath.Join(dir, "info")); !strings.Contains(info, "local [::]:5353\n") || !strings.Contains(info, " avahi-daemon\n") {
		t.Errorf("avahi's AF_INET6 socket: %s", info)
	}
	member := filepath.Join(dir, "membership", "ff02::fb@av6")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(member); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no %s: %v; memberships %v; avahi said:\n%s", member, err, netnstest.Names(t, filepath.Join(dir, "membership")), log.String())
		}
	}
	if got := netnstest.ReadFile(t, member); got != fmt.Sprintf("group ff02::fb\ninterface av6\nifindex %d\nmode exclude\nsources\n", ifi) {
		t.Errorf("%s says %q", member, got)
	}
	if got := netnstest.ReadFile(t, filepath.Join(dir, "ip6opt", "v6only")); got != "1\n" {
		t.Errorf("avahi's AF_INET6 socket: ip6opt/v6only %q", got)
	}
	if got := netnstest.Names(t, filepath.Join(v4dir, "membership")); !slices.Equal(got, []string{"224.0.0.251@av6"}) {
		t.Errorf("avahi's AF_INET socket: memberships %v", got)
	}
	if maddr := netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "av6"); !strings.Contains(maddr, "ff02::fb") {
		t.Fatalf("ip -6 maddr does not show ff02::fb:\n%s", maddr)
	}
	// The leave is carried out when rm exits (docs/tree.md, "Unlink").
	netnstest.MustSh(t, "rm "+member)
	gone := false
	for deadline := time.Now().Add(5 * time.Second); !gone && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gone = !strings.Contains(netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "av6"), "ff02::fb")
	}
	if !gone {
		t.Error("ip -6 maddr still shows ff02::fb after rm")
	}
	netnstest.MustSh(t, "touch "+member)
	if maddr := netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "av6"); !strings.Contains(maddr, "ff02::fb") {
		t.Errorf("ip -6 maddr does not show ff02::fb after touch:\n%s", maddr)
	}
}

// newValue6 is a value other than cur for a row of an AF_INET6 socket:
// newValue's for the rows both families have, and one for each IPv6 row
// that this namespace (lo is its only interface) accepts.
func newValue6(o *image.Option, cur string) string {
	if o.Path() == "ipopt/tos" {
		return "32" // TCP keeps the ECN bits of TOS as they are
	}
	if o.Dir == "tcpopt" {
		if v := tcpEchoValues[o.Name]; v != cur {
			return v // "" for congestion: TestEchoSetsTCPOptions tries it
		}
		return ""
	}
	if o.Dir != "ip6opt" {
		return newValue(o, cur)
	}
	v := map[string]string{
		"unicast_hops": "7", "multicast_hops": "5", "multicast_if": "1", "unicast_if": "1",
		"minhopcount": "3", "tclass": "40", "mtu_discover": "3", "addr_preferences": "1025",
	}[o.Name]
	switch {
	case o.Kind == image.Flag:
		return newValue(o, cur)
	case v == cur:
		return ""
	}
	return v
}

// Every file of AF_INET6 sockets says what getsockopt says inside the
// holder, and echo sets each: the IPv6 rows and the IPv4 ones an AF_INET6
// socket takes.
func TestIPv6EchoSetsOptions(t *testing.T) {
	netnstest.Require(t, "bash")
	mnt := mount(t)
	h := netnstest.NewHolder(t)
	for _, c := range []struct {
		kind string
		typ  uint16
	}{{"udp", unix.SOCK_DGRAM}, {"tcp", unix.SOCK_STREAM}, {"raw17", unix.SOCK_RAW}} {
		s := h.Socket6(c.kind)
		checkAgreesFamily(t, mnt, s, unix.AF_INET6, c.typ)
		dir := sockDir(mnt, s)
		set := 0
		for _, o := range treeRows(unix.AF_INET6, c.typ) {
			p := filepath.Join(dir, o.Dir, o.Name)
			cur := strings.TrimSuffix(netnstest.ReadFile(t, p), "\n")
			v := newValue6(o, cur)
			if v == "" || o.Kind == image.IfName {
				continue
			}
			if out, code := netnstest.Sh(t, fmt.Sprintf("bash -c 'echo %s > %s' 2>&1", v, p)); code != 0 {
				t.Errorf("%s6 echo %s > %s: %s", c.kind, v, o.Path(), out)
				continue
			}
			set++
			if got := strings.TrimSuffix(netnstest.ReadFile(t, p), "\n"); got != v {
				t.Errorf("%s6 %s: wrote %q, reads %q", c.kind, o.Path(), v, got)
			}
			if want, ok := holderText(t, s, o); ok && want != v {
				t.Errorf("%s6 %s: wrote %q, getsockopt in the holder %q", c.kind, o.Path(), v, want)
			}
		}
		if set < 20 {
			t.Errorf("%s6: only %d options set", c.kind, set)
		}
	}
}
