package exact_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) != "" {
		_, err := exact.Open(exact.Config{})
		fmt.Println(err)
		os.Exit(0)
	}
	if ino := os.Getenv(dumpEnv); ino != "" {
		dumpAndExit(ino)
	}
	netnstest.Main(m)
}

// open loads the exact reader; the tests run as root in a private
// namespace, where it must load (under CI too: a failure is a failure).
func open(t *testing.T) *exact.Exact {
	t.Helper()
	e, err := exact.Open(exact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

const ip, sol = unix.IPPROTO_IP, unix.SOL_SOCKET

// tune sets options inside the holder, so a dump shows more than defaults:
// every kind of row the table has.
func tune(s *netnstest.Sock, typ string) {
	s.SetInt(ip, unix.IP_TTL, 33)
	s.SetInt(ip, unix.IP_TOS, 0x10)
	s.SetInt(ip, unix.IP_RECVTTL, 1)
	s.SetInt(ip, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
	s.SetInt(ip, unix.IP_FREEBIND, 1)
	s.SetInt(ip, unix.IP_MINTTL, 3)
	s.SetInt(sol, unix.SO_KEEPALIVE, 1)
	s.SetInt(sol, unix.SO_REUSEADDR, 1)
	s.SetInt(sol, unix.SO_PRIORITY, 5)
	s.SetInt(sol, unix.SO_MARK, 0x42)
	s.SetInt(sol, unix.SO_RCVBUF, 65536)
	s.SetInt(sol, unix.SO_RCVLOWAT, 7)
	ne := binary.NativeEndian
	s.SetBytes(sol, unix.SO_LINGER, ne.AppendUint32(ne.AppendUint32(nil, 1), 9))
	s.SetBytes(sol, unix.SO_SNDTIMEO, ne.AppendUint64(ne.AppendUint64(nil, 2), 500000))
	s.SetBytes(sol, unix.SO_RCVTIMEO, ne.AppendUint64(ne.AppendUint64(nil, 0), 12000))
	s.SetBytes(sol, unix.SO_BINDTODEVICE, []byte("lo"))
	s.SetBytes(ip, unix.IP_OPTIONS, []byte{0x94, 0x04, 0x00, 0x00}) // router alert
	if typ != "tcp" {
		s.SetInt(ip, unix.IP_PKTINFO, 1)
		s.SetInt(ip, unix.IP_MULTICAST_TTL, 9)
		s.SetInt(ip, unix.IP_MULTICAST_ALL, 0)
		s.SetInt(ip, unix.IP_RECVERR, 1)
		s.SetInt(ip, unix.IP_MULTICAST_LOOP, 0)
	}
	if strings.HasPrefix(typ, "raw") {
		s.SetInt(ip, unix.IP_NODEFRAG, 1)
		s.SetInt(ip, unix.IP_HDRINCL, 1)
	}
	tuneCoverage(s, typ, false)
}

// shared drops what only the exact reader sees, and sorts the
// memberships: what both readers must agree on.
func shared(img *image.Image) *image.Image {
	c := img.Clone()
	for _, o := range image.Options {
		if o.ExactOnly {
			delete(c.Values, o.Attr)
		}
	}
	for i := range c.Memberships {
		if c.Memberships[i].Group.Is4() { // an IPv6 group has no interface address
			c.Memberships[i].Address = netip.IPv4Unspecified()
		}
	}
	c.CanonicalOrder()
	return c
}

// sameShared fails the test where the stock and exact images differ in
// what both readers see.
func sameShared(t *testing.T, want, got *image.Image) {
	t.Helper()
	if diff := cmp.Diff(shared(want), shared(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("stock and exact differ (-stock +exact):\n%s", diff)
	}
}

// For every field both readers see, the exact image equals the stock
// one (which stock's own tests check against getsockopt in the holder).
func TestEquivalentToStock(t *testing.T) {
	e, st := open(t), stock.NewStock()
	h := netnstest.NewHolder(t)
	ifi := netnstest.Veth(t, "eqv0", "10.7.0.1/24")
	for _, typ := range []string{"udp", "udplite", "tcp", "raw17", "raw255"} {
		t.Run(typ, func(t *testing.T) {
			s := h.Socket(typ)
			tune(s, typ)
			if typ != "tcp" {
				s.Must("join", map[string]any{"group": "239.1.1.1", "ifindex": ifi})
				s.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.7.0.1", "source": "10.7.0.9"})
				s.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.7.0.1", "source": "10.7.0.3"})
			}
			if typ == "udp" {
				s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
			}
			want := netnstest.Dump(t, st, s.Inode)
			got := netnstest.Dump(t, e, s.Inode)
			sameShared(t, want, got)
			if typ != "tcp" && len(got.Memberships) != 2 {
				t.Errorf("exact image has %d memberships, want 2", len(got.Memberships))
			}
			if _, err := image.Decode(got.Encode()); err != nil {
				t.Fatalf("the exact dump does not decode: %v", err)
			}
		})
	}
}

// The listing has what sock_diag lists, with the same identity.
func TestListMatchesStock(t *testing.T) {
	e, st := open(t), stock.NewStock()
	h := netnstest.NewHolder(t)
	mine := map[uint64]bool{}
	for _, typ := range []string{"udp", "tcp", "raw17", "udplite"} {
		s := h.Socket(typ)
		if !strings.HasPrefix(typ, "raw") {
			s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
		}
		mine[s.Inode] = true
	}
	want, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.List()
	if err != nil {
		t.Fatal(err)
	}
	// The machine is shared: only the test's own sockets are compared
	// (sock_diag also lists sockets no task holds, which the exact
	// reader cannot see).
	strip := func(l []image.Socket) []image.Socket {
		var out []image.Socket
		for _, s := range l {
			if mine[s.Inode] {
				s.Netns = 0
				out = append(out, s)
			}
		}
		return out
	}
	if n := len(strip(got)); n != len(mine) {
		t.Errorf("the exact listing has %d of the test's %d sockets", n, len(mine))
	}
	if diff := cmp.Diff(strip(want), strip(got), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("stock and exact listings differ (-stock +exact):\n%s", diff)
	}
	for _, s := range got {
		if s.Netns == 0 {
			t.Errorf("socket %d: the exact listing does not say its network namespace", s.Inode)
		}
	}
}
