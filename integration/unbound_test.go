package integration

// Unbound sockets, which sock_diag never lists: listed from the holder
// index, named, dumped. smcroute keeps every multicast join of a host on
// one such socket.

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// unboundShown checks that the socket inode is listed, unbound, with the
// membership group@ifname, and that its image holds it.
func unboundShown(t *testing.T, mnt string, inode uint64, group, ifname string, ifindex int) {
	t.Helper()
	name := strconv.FormatUint(inode, 10)
	if !slices.Contains(strings.Fields(netnstest.MustSh(t, "ls "+mnt)), name) {
		t.Fatalf("unbound socket %d is not listed", inode)
	}
	dir := filepath.Join(mnt, name)
	if info := netnstest.ReadFile(t, dir+"/info"); !strings.Contains(info, "local 0.0.0.0:0\n") {
		t.Errorf("info of the unbound socket:\n%s", info)
	}
	if got := netnstest.Names(t, dir+"/membership"); !slices.Contains(got, group+"@"+ifname) {
		t.Errorf("memberships %v, want %s@%s", got, group, ifname)
	}
	img, err := image.Decode([]byte(netnstest.ReadFile(t, dir+"/image.bin")))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range img.Memberships {
		found = found || m.Group.String() == group && m.Ifindex == int32(ifindex)
	}
	if !found || img.Ifnames[int32(ifindex)] != ifname || !img.Unbound() {
		t.Errorf("image: unbound %v, memberships %+v, names %v", img.Unbound(), img.Memberships, img.Ifnames)
	}
}

func TestUnboundSocketWithMemberships(t *testing.T) {
	ifi := netnstest.Veth(t, "ub0", "10.41.0.1/24")
	mnt := mount(t)
	s := netnstest.NewHolder(t).Socket("udp")
	s.Must("join", map[string]any{"group": "239.41.0.1", "ifindex": ifi})
	unboundShown(t, mnt, s.Inode, "239.41.0.1", "ub0", ifi)
	// Left through the tree.
	netnstest.MustSh(t, "rm "+sockDir(mnt, s)+"/membership/239.41.0.1@ub0")
	waitMaddr(t, "ub0", "239.41.0.1", false)
}

func TestSmcroute(t *testing.T) {
	netnstest.Require(t, "smcrouted", "smcroutectl")
	ifi := netnstest.Veth(t, "smc0", "10.40.0.1/24")
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "smcroute.conf")
	if err := os.WriteFile(conf, []byte("phyint smc0 enable\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock, pidf := filepath.Join(tmp, "smcroute.sock"), filepath.Join(tmp, "smcroute.pid")
	d := exec.Command("smcrouted", "-n", "-N", "-f", conf, "-u", sock, "-P", pidf, "-i", "inetcr-test")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, code := netnstest.RunArgv(t, []string{"smcroutectl", "-u", sock, "join", "smc0", "239.40.0.1"})
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smcroutectl join: exit %d: %s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitMaddr(t, "smc0", "239.40.0.1", true)
	mnt := mount(t)
	// smcrouted's sockets: the one with the join is unbound UDP.
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(d.Process.Pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var holder uint64
	for _, fd := range fds {
		link, _ := os.Readlink("/proc/" + strconv.Itoa(d.Process.Pid) + "/fd/" + fd.Name())
		ino, ok := strings.CutPrefix(link, "socket:[")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
		if names, err := os.ReadDir(filepath.Join(mnt, strconv.FormatUint(n, 10), "membership")); err == nil {
			for _, e := range names {
				if e.Name() == "239.40.0.1@smc0" {
					holder = n
				}
			}
		}
	}
	if holder == 0 {
		t.Fatalf("no socket of smcrouted shows membership/239.40.0.1@smc0\n%s", netnstest.MustSh(t, "ls -l /proc/"+strconv.Itoa(d.Process.Pid)+"/fd"))
	}
	unboundShown(t, mnt, holder, "239.40.0.1", "smc0", ifi)
	if info := netnstest.ReadFile(t, filepath.Join(mnt, strconv.FormatUint(holder, 10), "info")); !strings.Contains(info, " smcrouted\n") {
		t.Errorf("info does not name smcrouted as the holder:\n%s", info)
	}
}

// info says where a socket runs and how it is doing: its holder's cgroup,
// its receive queue and its drops, as /proc/net/udp and /proc/PID/cgroup
// say them.
func TestInfoCgroupAndDrops(t *testing.T) {
	for _, kind := range []string{"stock", "exact"} {
		t.Run(kind, func(t *testing.T) {
			b, err := netlinkio.Open(kind)
			if err != nil {
				t.Fatal(err) // the exact reader runs here: root, BTF, BPF
			}
			t.Cleanup(func() { b.Close() })
			dir := t.TempDir()
			netnstest.MountTree(t, dir, inetcrfs.Options{Backend: b, Logger: quietLogger(), Netns: netnstest.NetnsIno(t, "/proc/self/ns/net")})
			checkInfoCgroupAndDrops(t, dir)
		})
	}
}

// checkInfoCgroupAndDrops: a socket's info says its receive queue, its
// drops (as /proc/net/udp has them) and its holder's cgroup.
func checkInfoCgroupAndDrops(t *testing.T, mnt string) {
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	s.SetInt(unix.SOL_SOCKET, unix.SO_RCVBUF, 1) // the kernel's minimum: a few datagrams fill it
	s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 5600})
	netnstest.MustSh(t, `python3 -c 'import socket; c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(200): c.sendto(b"x" * 1000, ("127.0.0.1", 5600))'`)
	var rxQueue, drops uint64
	found := false
	for _, line := range strings.Split(netnstest.ReadFile(t, "/proc/net/udp"), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 13 || f[9] != strconv.FormatUint(s.Inode, 10) {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		rxQueue, _ = strconv.ParseUint(rx, 16, 64)
		drops, _ = strconv.ParseUint(f[12], 10, 64)
		found = true
	}
	if !found || drops == 0 {
		t.Fatalf("/proc/net/udp: found %v, drops %d; want the socket, dropping", found, drops)
	}
	info := netnstest.ReadFile(t, sockDir(mnt, s)+"/info")
	if !strings.Contains(info, "\ndrops "+strconv.FormatUint(drops, 10)+"\n") || !strings.Contains(info, "\nrcvq "+strconv.FormatUint(rxQueue, 10)+" ") {
		t.Errorf("info does not say rcvq %d, drops %d:\n%s", rxQueue, drops, info)
	}
	cg := ""
	for _, line := range strings.Split(netnstest.ReadFile(t, "/proc/"+strconv.Itoa(h.Pid())+"/cgroup"), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			cg = p
		}
	}
	if want := "cgroup " + strconv.Itoa(h.Pid()) + " " + cg + "\n"; cg == "" || !strings.Contains(info, want) {
		t.Errorf("info lacks %q:\n%s", want, info)
	}
}
