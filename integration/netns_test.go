package integration

// Sockets of other network namespaces (docs/tree.md, "Namespaces"): each
// listed, named, dumped, restored and joined in its own namespace.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// nsCase is one namespace of the test: a holder in it, and the command
// prefix that runs a tool there.
type nsCase struct {
	label string
	h     *netnstest.Holder
	in    []string // prefix: run a command inside the namespace
	name  string   // its name under /run/netns, if any
}

func (c nsCase) sh(t *testing.T, cmd string) string {
	t.Helper()
	argv := append(append([]string(nil), c.in...), "sh", "-c", cmd)
	out, code := netnstest.RunArgv(t, argv)
	if code != 0 {
		t.Fatalf("%s: %s: exit %d: %s", c.label, cmd, code, out)
	}
	return out
}

func (c nsCase) ino(t *testing.T) uint64 {
	return netnstest.NetnsIno(t, "/proc/"+strconv.Itoa(c.h.Pid())+"/ns/net")
}

// vethIn gives the namespace an interface named nx0 (a veth whose peer
// stays there too), up, with multicast and an address.
func (c nsCase) vethIn(t *testing.T) int {
	t.Helper()
	c.sh(t, "ip link add nx0 type veth peer name nx0p && ip link set nx0p up && ip link set nx0 multicast on up && ip addr add 10.30.0.1/24 dev nx0")
	n, err := strconv.Atoi(strings.TrimSpace(c.sh(t, "ip -o link show nx0 | cut -d: -f1")))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestThreeNamespaces(t *testing.T) {
	netnstest.Require(t, "ip", "nsenter", "unshare")
	name := netnstest.NetnsAdd(t, "inetcr-three")
	child := netnstest.ChildHolder(t)
	cases := []nsCase{
		{label: "own", h: netnstest.NewHolder(t)},
		{label: "named", h: netnstest.HolderIn(t, name), in: []string{"ip", "netns", "exec", name}, name: name},
		{label: "child", h: child, in: []string{"nsenter", "-t", strconv.Itoa(child.Pid()), "-n"}},
	}
	// The own namespace's nx0; the others go with their namespaces.
	t.Cleanup(func() { netnstest.RunArgv(t, []string{"ip", "link", "del", "nx0"}) })
	socks := make([]*netnstest.Sock, len(cases))
	idx := make([]int, len(cases))
	for i, c := range cases {
		socks[i] = c.h.Socket("udp")
		socks[i].Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5400})
		idx[i] = c.vethIn(t)
	}
	// Only the mount's own namespace has nxo.
	netnstest.Veth(t, "nxo", "10.31.0.1/24")
	mnt := mountAll(t)

	listing := strings.Fields(netnstest.MustSh(t, "ls "+mnt))
	for i, c := range cases {
		dir := sockDir(mnt, socks[i])
		if !slices.Contains(listing, strconv.FormatUint(socks[i].Inode, 10)) {
			t.Errorf("%s: socket %d is not listed", c.label, socks[i].Inode)
		}
		info := netnstest.ReadFile(t, dir+"/info")
		want := fmt.Sprintf("netns net:[%d]", c.ino(t))
		if c.name != "" {
			want += " " + c.name
		}
		if !strings.Contains(info, want+"\n") || !strings.Contains(info, "local 0.0.0.0:5400\n") {
			t.Errorf("%s: info lacks %q:\n%s", c.label, want, info)
		}
		// Joined and left through the tree, in the socket's namespace.
		netnstest.MustSh(t, "touch "+dir+"/membership/239.5.5.5@nx0")
		if out := c.sh(t, "ip maddr show dev nx0"); !strings.Contains(out, "239.5.5.5") {
			t.Errorf("%s: ip maddr does not show the join:\n%s", c.label, out)
		}
		text := netnstest.ReadFile(t, dir+"/membership/239.5.5.5@nx0")
		if !strings.Contains(text, fmt.Sprintf("interface nx0\nifindex %d\n", idx[i])) {
			t.Errorf("%s: membership file %q, want ifindex %d", c.label, text, idx[i])
		}
		img, err := image.Decode([]byte(netnstest.ReadFile(t, dir+"/image.bin")))
		if err != nil {
			t.Fatal(err)
		}
		if img.Ifnames[int32(idx[i])] != "nx0" || len(img.Memberships) != 1 || img.Memberships[0].Ifindex != int32(idx[i]) {
			t.Errorf("%s: image memberships %+v, names %v", c.label, img.Memberships, img.Ifnames)
		}
		netnstest.MustSh(t, "rm "+dir+"/membership/239.5.5.5@nx0")
		waitIn(t, c, "239.5.5.5", false)
	}

	// An image travels by interface name: the own socket's joins, copied
	// onto each other namespace's socket, land on that namespace's nx0.
	own := sockDir(mnt, socks[0])
	netnstest.MustSh(t, "touch "+own+"/membership/239.6.6.6@nx0")
	for i, c := range cases[1:] {
		dir := sockDir(mnt, socks[i+1])
		netnstest.MustSh(t, "cp "+own+"/image.bin "+dir+"/image.bin")
		waitIn(t, c, "239.6.6.6", true)
		if got := netnstest.Names(t, dir+"/membership"); len(got) != 1 || got[0] != "239.6.6.6@nx0" {
			t.Errorf("%s: memberships after the copy: %v", c.label, got)
		}
	}
	// A name the target's namespace does not have is refused, naming it,
	// and nothing changes.
	netnstest.MustSh(t, "touch "+own+"/membership/239.7.7.7@nxo")
	child3 := sockDir(mnt, socks[2])
	before := netnstest.ReadFile(t, child3+"/image.bin")
	out, code := netnstest.Sh(t, "cp "+own+"/image.bin "+child3+"/image.bin")
	if code == 0 || !strings.Contains(out, "No such device") {
		t.Errorf("a copy naming nxo onto the child's socket: exit %d: %s", code, out)
	}
	if after := netnstest.ReadFile(t, child3+"/image.bin"); after != before {
		t.Error("the refused copy changed the child's socket")
	}
	if out := cases[2].sh(t, "ip maddr show"); strings.Contains(out, "239.7.7.7") {
		t.Errorf("the refused copy joined 239.7.7.7:\n%s", out)
	}

	// A namespace that goes away while listed leaves the listing.
	child.Stop()
	gone := strconv.FormatUint(socks[2].Inode, 10)
	deadline := time.Now().Add(3 * time.Second)
	for slices.Contains(strings.Fields(netnstest.MustSh(t, "ls "+mnt)), gone) {
		if time.Now().After(deadline) {
			t.Fatal("the socket of a namespace that went away is still listed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Its directory fails lookups once the kernel's entry cache lets go
	// (docs/tree.md: within 700 ms).
	for _, err := os.Stat(filepath.Join(mnt, gone)); err == nil; _, err = os.Stat(filepath.Join(mnt, gone)) {
		if time.Now().After(deadline.Add(time.Second)) {
			t.Fatal("the socket of a namespace that went away can still be looked up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitIn waits until ip maddr in c's namespace shows group on nx0, or no
// longer does.
func waitIn(t *testing.T, c nsCase, group string, shown bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for strings.Contains(c.sh(t, "ip maddr show dev nx0"), group) != shown {
		if time.Now().After(deadline) {
			t.Fatalf("%s: ip maddr on nx0 still does not say %s %v", c.label, group, shown)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A tree limited to one namespace (inetcr mount --netns) lists and looks
// up only its sockets.
func TestMountOneNamespace(t *testing.T) {
	name := netnstest.NetnsAdd(t, "inetcr-one")
	in := netnstest.HolderIn(t, name).Socket("udp")
	in.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5401})
	out := bound(netnstest.NewHolder(t).Socket("udp"))
	unboundOut := netnstest.NewHolder(t).Socket("udp")
	dir := t.TempDir()
	netnstest.MountTree(t, dir, inetcrfs.Options{Backend: stock.NewStock(), Logger: quietLogger(), Netns: netnstest.NetnsIno(t, "/run/netns/"+name)})
	listing := strings.Fields(netnstest.MustSh(t, "ls "+dir))
	if !slices.Contains(listing, strconv.FormatUint(in.Inode, 10)) {
		t.Errorf("the namespace's socket is not listed: %v", listing)
	}
	for _, s := range []*netnstest.Sock{out, unboundOut} {
		if slices.Contains(listing, strconv.FormatUint(s.Inode, 10)) {
			t.Errorf("socket %d of another namespace is listed", s.Inode)
		}
		if _, err := os.Stat(sockDir(dir, s)); !os.IsNotExist(err) {
			t.Errorf("socket %d of another namespace: stat gives %v, want ENOENT", s.Inode, err)
		}
	}
	if _, err := os.Stat(sockDir(dir, in) + "/info"); err != nil {
		t.Error(err)
	}
}
