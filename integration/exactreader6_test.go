package integration

// The exact reader on real programs' AF_INET6 sockets: it reads
// ipv6_pinfo and the IPv6 group list itself. Each program's socket is
// dumped through a tree mounted on the exact reader, checked against what
// the program set, against the stock reader's image of the same socket
// (getsockopt on a duplicate) and against ip -6 maddr, then cloned onto a
// fresh socket with cp of image.bin and with tar of its files.

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

var realPrograms6 = []realProgram{
	{"ptp4l", func(string) []string { return []string{"ptp4l", "-i", "rp6", "-S", "-6", "-q"} }, "ff0e::181",
		func(t *testing.T, img *image.Image, ifi int) {
			// linuxptp binds its IPv6 sockets to the interface and turns
			// multicast loop off.
			if got := string(img.Values[25].Bytes); got != "rp6" {
				t.Errorf("sockopt/bindtodevice %q, ptp4l set rp6", got)
			}
			if img.Values[233].Num != 0 {
				t.Error("ip6opt/multicast_loop on, ptp4l turned it off")
			}
			if m, _ := membership(img, "ff0e::181"); m.Ifindex != int32(ifi) {
				t.Errorf("membership %+v; ptp4l joined on ifindex %d", m, ifi)
			}
		}},
	{"mcfirst", func(string) []string {
		return []string{"mcfirst", "-6", "-I", "rp6", "-c", "100000", "-t", "600", "fd0a::7", "ff35::4", "5001"}
	}, "ff35::4",
		func(t *testing.T, img *image.Image, ifi int) {
			// a source-specific join: INCLUDE {fd0a::7}.
			m, _ := membership(img, "ff35::4")
			if m.Mode != image.ModeInclude || len(m.Sources) != 1 || m.Sources[0].String() != "fd0a::7" || m.Ifindex != int32(ifi) {
				t.Errorf("membership %+v; mcfirst joined (fd0a::7, ff35::4) on ifindex %d", m, ifi)
			}
		}},
	{"socat", func(string) []string {
		return []string{"socat", "-u", "UDP6-RECV:5004,ipv6-join-group=[ff15::6]:rp6", "OPEN:/dev/null"}
	}, "ff15::6",
		func(t *testing.T, img *image.Image, ifi int) {
			if m, _ := membership(img, "ff15::6"); m.Ifindex != int32(ifi) {
				t.Errorf("membership %+v; socat joined on ifindex %d", m, ifi)
			}
		}},
}

func TestExactReaderRealPrograms6(t *testing.T) {
	netnstest.Require(t, "ip", "tar", "cp")
	e, mnt := mountExact(t)
	ifi := netnstest.Veth6(t, "rp6", "fd0a::1/64")
	h := netnstest.NewHolder(t)
	st := stock.NewStock()
	for _, p := range realPrograms6 {
		t.Run(p.name, func(t *testing.T) {
			argv := p.argv(t.TempDir())
			netnstest.Require(t, argv[0])
			cmd := exec.Command(argv[0], argv[1:]...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			ino := socketJoining(t, e, cmd.Process.Pid, p.group)
			dir := filepath.Join(mnt, strconv.FormatUint(ino, 10))
			orig, err := image.Decode([]byte(netnstest.ReadFile(t, filepath.Join(dir, "image.bin"))))
			if err != nil {
				t.Fatal(err)
			}
			if orig.Family != 10 {
				t.Fatalf("%s's socket is of family %d, want AF_INET6", p.name, orig.Family)
			}
			p.check(t, orig, ifi)
			// Only a reader of the kernel's list says its order: the exact
			// reader read the socket, not getsockopt on a duplicate.
			if !orig.JoinOrder || !orig.JoinOrder6 {
				t.Errorf("the image does not carry the join order: IPv4 list %v, IPv6 list %v", orig.JoinOrder, orig.JoinOrder6)
			}
			// The stock reader asks the socket itself: every row and group
			// both readers see is the same.
			netnstest.SameImage(t, "stock's image", readersShare(netnstest.Dump(t, st, ino)), readersShare(orig))
			if maddr := netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "rp6"); !strings.Contains(maddr, p.group) {
				t.Errorf("ip -6 maddr does not show %s:\n%s", p.group, maddr)
			}

			// cp image.bin onto a fresh socket, bound so it keeps its own
			// address: to ::1, or with v6only off (the kernel binds an
			// IPv6 address with it on) to a v4-mapped one.
			fresh := func() *netnstest.Sock {
				s := h.Socket6("udp")
				addr := "::1"
				if orig.Values[238].Num == 0 {
					addr = "::ffff:127.0.0.1"
				}
				s.Must("bind", map[string]any{"addr": addr, "port": 0})
				return s
			}
			cp := fresh()
			netnstest.MustSh(t, "cp "+filepath.Join(dir, "image.bin")+" "+filepath.Join(mnt, strconv.FormatUint(cp.Inode, 10), "image.bin"))
			sameButAddress(t, "cp image.bin", orig, netnstest.Dump(t, e, cp.Inode), false)

			// tar of the option and membership files onto another.
			tr := fresh()
			tarball := filepath.Join(t.TempDir(), "s.tar")
			netnstest.MustSh(t, "tar -C "+dir+" -cf "+tarball+" sockopt ipopt ip6opt membership && tar -C "+filepath.Join(mnt, strconv.FormatUint(tr.Inode, 10))+" -xf "+tarball)
			sameButAddress(t, "tar", orig, netnstest.Dump(t, e, tr.Inode), true)
		})
	}
}

// readersShare is what the exact and stock readers both see: no row only
// the exact one reads, memberships as a set without interface addresses.
func readersShare(img *image.Image) *image.Image {
	c := setOfMemberships(img)
	for _, o := range image.Options {
		if o.ExactOnly {
			delete(c.Values, o.Attr)
		}
	}
	return c
}
