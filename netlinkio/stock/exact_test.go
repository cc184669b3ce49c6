package stock_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// A value the kernel clamps or rounds is refused (the read-back differs),
// and the set's own effect is undone: the socket is byte-identical to
// before, side effects (the buffer locks, TCP's rcvbuf) included.
func TestClampedValueChangesNothing(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	cases := []struct{ kind, dir, name, text string }{
		{"udp", "sockopt", "rcvtimeo", "1"},
		{"udp", "sockopt", "sndtimeo", "4001"},
		{"udp", "sockopt", "sndbuf", "2"},
		{"udp", "sockopt", "rcvbuf", "100"},
		{"tcp", "sockopt", "rcvbuf", "100"},
		{"tcp", "sockopt", "rcvlowat", "1073741824"},
		{"tcp", "ipopt", "tos", "3"},
		{"raw17", "sockopt", "sndbuf", "2"},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.name+" "+c.text, func(t *testing.T) {
			s := h.Socket(c.kind)
			before := netnstest.Dump(t, st, s.Inode)
			img := before.Clone()
			setText(t, img, c.dir, c.name, c.text)
			err := st.Restore(s.Inode, img)
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("restore: %v, want EINVAL (read back differs)", err)
			}
			netnstest.SameImage(t, "after the refused set", before, netnstest.Dump(t, st, s.Inode))
		})
	}
}

// TCP's SO_RCVLOWAT raises SO_RCVBUF (tcp_set_rcvlowat); the row keeps
// rcvbuf, so an accepted change changes rcvlowat only, and an image with
// both restores both.
func TestTCPRcvlowatKeepsRcvbuf(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	s := h.Socket("tcp")
	before := netnstest.Dump(t, st, s.Inode)
	img := before.Clone()
	setText(t, img, "sockopt", "rcvlowat", "100000")
	if err := st.Restore(s.Inode, img); err != nil {
		t.Fatal(err)
	}
	netnstest.SameImage(t, "after setting rcvlowat", img, netnstest.Dump(t, st, s.Inode))

	// A program's own setsockopt raises rcvbuf; its dump restores exactly.
	src := h.Socket("tcp")
	src.SetInt(1, 18, 300000) // SOL_SOCKET, SO_RCVLOWAT
	want := netnstest.Dump(t, st, src.Inode)
	if want.Values[19].Equal(before.Values[19]) {
		t.Fatalf("setsockopt(SO_RCVLOWAT) left rcvbuf at %d; the kernel no longer raises it", want.Values[19].Num)
	}
	fresh := h.Socket("tcp")
	if err := st.Restore(fresh.Inode, want); err != nil {
		t.Fatal(err)
	}
	netnstest.SameImage(t, "restored", want, netnstest.Dump(t, st, fresh.Inode))
}

// sysctl sets a sysctl of the test's private network namespace and puts
// it back when the test ends.
func sysctl(t *testing.T, name, value string) {
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0) })
}

// With igmp_max_memberships and igmp_max_msf raised (both are per network
// namespace), a socket in 25 groups, one of them with 70 sources, dumps,
// decodes, restores onto a fresh socket and still takes changes.
func TestRaisedIGMPLimits(t *testing.T) {
	sysctl(t, "net.ipv4.igmp_max_memberships", "30")
	sysctl(t, "net.ipv4.igmp_max_msf", "100")
	ifA := netnstest.Veth(t, "igl", "10.51.0.1/24")
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	for i := range 24 {
		s.Must("join", map[string]any{"group": fmt.Sprintf("239.51.0.%d", i+1), "ifindex": ifA})
	}
	for i := range 70 {
		s.Must("join_source", map[string]any{"group": "232.51.0.1", "iface_addr": "10.51.0.1", "source": fmt.Sprintf("10.51.1.%d", i+1)})
	}
	img := netnstest.Dump(t, st, s.Inode)
	if len(img.Memberships) != 25 || len(img.Memberships[0].Sources) != 70 {
		t.Fatalf("dump has %d memberships, the first with %d sources; want 25 and 70", len(img.Memberships), len(img.Memberships[0].Sources))
	}
	dec, err := image.Decode(img.Encode())
	if err != nil {
		t.Fatalf("the dump does not decode: %v", err)
	}
	fresh := h.Socket("udp")
	if err := st.Restore(fresh.Inode, dec); err != nil {
		t.Fatal(err)
	}
	netnstest.SameImage(t, "restored", img, netnstest.Dump(t, st, fresh.Inode))
	setText(t, img, "ipopt", "ttl", "5")
	if err := st.Restore(s.Inode, img); err != nil {
		t.Fatalf("a change of ttl: %v", err)
	}
	netnstest.SameImage(t, "after a change", img, netnstest.Dump(t, st, s.Inode))

	// Past the namespace's limit the kernel refuses the join, and the
	// restore is rolled back.
	sysctl(t, "net.ipv4.igmp_max_memberships", "25")
	more := img.Clone()
	more.Memberships = append(more.Memberships, image.Membership{Group: netip.MustParseAddr("239.51.9.9"), Ifindex: int32(ifA)})
	setText(t, more, "ipopt", "ttl", "6")
	if err := st.Restore(s.Inode, more); !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("a 26th join: %v, want ENOBUFS", err)
	}
	netnstest.SameImage(t, "after the refused join", img, netnstest.Dump(t, st, s.Inode))
}

// An image that binds an unbound UDP socket and connects it through a
// device that is down: the route check judges the socket as it will be
// configured, so the restore fails before the bind, with the kernel's
// errno, and the socket stays unbound.
func TestUnroutablePeerRefusedBeforeBind(t *testing.T) {
	netnstest.Veth(t, "rdown", "10.61.0.1/24")
	netnstest.Veth(t, "rup", "10.62.0.1/24")
	netnstest.Run(t, "ip", "link", "set", "rdown", "down")
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	before := netnstest.Dump(t, st, s.Inode)
	img := before.Clone()
	setText(t, img, "sockopt", "bindtodevice", "rdown")
	img.Local = netip.MustParseAddrPort("0.0.0.0:4444")
	img.Peer = netip.MustParseAddrPort("10.62.0.9:53")
	img.State = image.StateEstablished
	err := st.Restore(s.Inode, img)
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("restore: %v, want ENETUNREACH", err)
	}
	if errors.Is(err, syscall.EINVAL) {
		t.Errorf("restore: %v is EINVAL too; the kernel's errno comes back alone", err)
	}
	netnstest.SameImage(t, "after the refused restore", before, netnstest.Dump(t, st, s.Inode))

	// The same image through the interface that is up goes through.
	setText(t, img, "sockopt", "bindtodevice", "rup")
	if err := st.Restore(s.Inode, img); err != nil {
		t.Fatal(err)
	}
	got := netnstest.Dump(t, st, s.Inode)
	img.Local = netip.AddrPortFrom(got.Local.Addr(), 4444) // connect picks the source address
	if o, ok := image.LookupOption("sockopt", "bindtoifindex"); ok {
		img.Values[o.Attr] = got.Values[o.Attr] // the index follows the name
	}
	netnstest.SameImage(t, "restored", img, got)
}
