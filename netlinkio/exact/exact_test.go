package exact_test

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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

// tuneCoverage sets the option-coverage rows (issue 14) that the exact
// reader reads from sk_flags, inet_flags and scalar fields, each to a value
// other than its default; raw6 says the socket is a raw AF_INET6 one,
// which refuses SOL_IP.
func tuneCoverage(s *netnstest.Sock, typ string, raw6 bool) {
	s.SetInt(sol, unix.SO_DEBUG, 1)
	switch {
	case typ == "udp":
		s.SetInt(sol, unix.SO_TIMESTAMPNS_OLD, 1) // the timestamp row's 2
	case typ == "tcp":
		s.SetInt(sol, unix.SO_TIMESTAMP_NEW, 1) // tstamp_new
	default:
		s.SetInt(sol, unix.SO_TIMESTAMP_OLD, 1)
		s.SetInt(sol, unix.SO_TIMESTAMPING_OLD, unix.SOF_TIMESTAMPING_RX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE)
	}
	if typ != "tcp" {
		ne := binary.NativeEndian
		s.SetBytes(sol, unix.SO_TXTIME, ne.AppendUint32(ne.AppendUint32(nil, unix.CLOCK_MONOTONIC), 2)) // SOF_TXTIME_REPORT_ERRORS
	}
	s.SetInt(sol, unix.SO_RCVMARK, 1)
	s.SetInt(sol, unix.SO_BUSY_POLL, 50)
	s.SetInt(sol, unix.SO_PREFER_BUSY_POLL, 1)
	s.SetInt(sol, unix.SO_INCOMING_CPU, 1)
	s.SetInt(sol, unix.SO_SELECT_ERR_QUEUE, 1)
	s.SetInt(sol, unix.SO_MAX_PACING_RATE, 1_000_000)
	s.SetInt(sol, unix.SO_RXQ_OVFL, 1)
	s.SetInt(sol, unix.SO_WIFI_STATUS, 1)
	s.SetInt(sol, unix.SO_NOFCS, 1)
	s.SetInt(sol, unix.SO_RCVPRIORITY, 1)
	if typ == "udp" || typ == "tcp" {
		s.SetInt(sol, unix.SO_ZEROCOPY, 1)
	}
	if !strings.HasPrefix(typ, "raw") {
		s.SetInt(sol, unix.SO_PEEK_OFF, 5)
	}
	if typ == "tcp" {
		s.SetInt(sol, unix.SO_TXREHASH, 0)
	}
	if !raw6 {
		s.SetInt(ip, unix.IP_PASSSEC, 1)
		s.SetInt(ip, unix.IP_CHECKSUM, 1)
		s.SetInt(ip, unix.IP_RECVERR_RFC4884, 1)
		s.SetBytes(ip, unix.IP_LOCAL_PORT_RANGE, binary.NativeEndian.AppendUint32(nil, 50000<<16|40000))
		if typ != "tcp" {
			s.SetInt(ip, unix.IP_RECVFRAGSIZE, 1)
		}
	}
	if typ == "udp" || typ == "udplite" {
		s.SetInt(unix.SOL_UDP, unix.UDP_CORK, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_NO_CHECK6_TX, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_NO_CHECK6_RX, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_SEGMENT, 1400)
		s.SetInt(unix.SOL_UDP, unix.UDP_GRO, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_ENCAP, unix.UDP_ENCAP_ESPINUDP)
	}
	if typ == "udplite" {
		s.SetInt(unix.SOL_UDP, 10, 20) // UDPLITE_SEND_CSCOV
		s.SetInt(unix.SOL_UDP, 11, 24) // UDPLITE_RECV_CSCOV
	}
	// A classic filter of two instructions: ld #1; ret #0xffff.
	s.Must("attach_filter", map[string]any{"insns": "0000000001000000" + "06000000ffff0000"})
	s.SetInt(sol, unix.SO_LOCK_FILTER, 1) // one way: last
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
	c.JoinOrder = false
	for i := range c.Memberships {
		if c.Memberships[i].Group.Is4() { // an IPv6 group has no interface address
			c.Memberships[i].Address = netip.IPv4Unspecified()
		}
	}
	c.Canonicalize()
	return c
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
			if diff := cmp.Diff(shared(want), shared(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("stock and exact differ (-stock +exact):\n%s", diff)
			}
			if typ != "tcp" && len(got.Memberships) != 2 {
				t.Errorf("exact image has %d memberships, want 2", len(got.Memberships))
			}
			if _, err := image.Decode(got.Encode()); err != nil {
				t.Fatalf("the exact dump does not decode: %v", err)
			}
		})
	}
}

const ip6 = unix.IPPROTO_IPV6

// tune6 sets every ip6opt row of the socket's type to a value that is
// not its default, and socket- and (UDP, TCP) IP-level ones, on the
// interface ifi (no SO_BINDTODEVICE: IPV6_UNICAST_IF refuses a bound
// socket).
func tune6(s *netnstest.Sock, typ string, ifi int) {
	s.SetInt(sol, unix.SO_KEEPALIVE, 1)
	s.SetInt(sol, unix.SO_PRIORITY, 5)
	s.SetInt(sol, unix.SO_MARK, 0x42)
	if !strings.HasPrefix(typ, "raw") { // a raw AF_INET6 socket refuses SOL_IP
		s.SetInt(ip6, unix.IPV6_V6ONLY, 1)
		s.SetInt(ip, unix.IP_TTL, 33)
		s.SetInt(ip, unix.IP_TOS, 0x10)
		s.SetInt(ip, unix.IP_MINTTL, 3)
	}
	s.SetInt(ip6, unix.IPV6_UNICAST_HOPS, 17)
	s.SetInt(ip6, unix.IPV6_MULTICAST_LOOP, 0)
	s.SetInt(ip6, unix.IPV6_MULTICAST_ALL, 0)
	s.SetInt(ip6, unix.IPV6_UNICAST_IF, int(int32(bits.ReverseBytes32(uint32(ifi))))) // network order
	s.SetInt(ip6, unix.IPV6_MINHOPCOUNT, 4)
	s.SetInt(ip6, unix.IPV6_TCLASS, 0x28)
	s.SetInt(ip6, unix.IPV6_FREEBIND, 1)
	s.SetInt(ip6, unix.IPV6_TRANSPARENT, 1)
	s.SetInt(ip6, unix.IPV6_RECVHOPLIMIT, 1)
	s.SetInt(ip6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
	s.SetInt(ip6, unix.IPV6_DONTFRAG, 1)
	s.SetInt(ip6, unix.IPV6_AUTOFLOWLABEL, 0)                // set, and off: not what net.ipv6.auto_flowlabels gives
	s.SetInt(ip6, unix.IPV6_ADDR_PREFERENCES, 0x0002|0x0004) // IPV6_PREFER_SRC_PUBLIC | IPV6_PREFER_SRC_COA
	s.SetInt(ip6, unix.IPV6_RECVRTHDR, 1)
	s.SetInt(ip6, unix.IPV6_RECVHOPOPTS, 1)
	s.SetInt(ip6, unix.IPV6_RECVDSTOPTS, 1)
	s.SetInt(ip6, 11, 1) // IPV6_FLOWINFO
	s.SetInt(ip6, 33, 1) // IPV6_FLOWINFO_SEND
	tuneCoverage(s, typ, strings.HasPrefix(typ, "raw"))
	if typ == "tcp" {
		return
	}
	s.SetInt(ip6, unix.IPV6_MULTICAST_HOPS, 5)
	s.SetInt(ip6, unix.IPV6_MULTICAST_IF, ifi)
	s.SetInt(ip6, unix.IPV6_RECVPKTINFO, 1)
	s.SetInt(ip6, unix.IPV6_RECVTCLASS, 1)
	s.SetInt(ip6, unix.IPV6_RECVERR, 1)
	s.SetInt(ip6, unix.IPV6_RECVORIGDSTADDR, 1)
	s.SetInt(ip6, unix.IPV6_RECVPATHMTU, 1)
	s.SetInt(ip6, unix.IPV6_RECVFRAGSIZE, 1)
	s.SetInt(ip6, unix.IPV6_RECVERR_RFC4884, 1)
	if strings.HasPrefix(typ, "raw") {
		s.SetInt(ip6, unix.IPV6_HDRINCL, 1)
	}
}

// Every ip6opt row set, IPv6 groups with source filters and (UDP) an
// IPv4 group: the exact image of an AF_INET6 socket is the stock one.
func TestEquivalentToStock6(t *testing.T) {
	e, st := open(t), stock.NewStock()
	h := netnstest.NewHolder(t)
	ifi := netnstest.Veth6(t, "eqv6", "fd07::1/64")
	ifi4 := netnstest.Veth(t, "eqv4", "10.7.1.1/24")
	// The connected socket's hop limit is its route's: the device's
	// hop_limit, here other than the namespace's.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/eqv6/hop_limit", []byte("41"), 0); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, c := range []struct{ typ, how string }{
		{"udp", "bound"}, {"udp", "connected"}, {"udplite", ""}, {"tcp", ""}, {"tcp", "listening"}, {"raw17", ""}, {"raw255", ""},
	} {
		t.Run(c.typ+c.how, func(t *testing.T) {
			s := h.Socket6(c.typ)
			if c.how == "connected" { // defaults, and a route's hop limit
				s.Must("connect", map[string]any{"addr": "fd07::2", "port": 9})
			} else {
				tune6(s, c.typ, ifi)
			}
			if c.typ != "tcp" { // joined against the canonical order
				s.Must("join6_source", map[string]any{"group": "ff35::2", "ifindex": ifi, "source": "fd07::9"})
				s.Must("join6_source", map[string]any{"group": "ff35::2", "ifindex": ifi, "source": "fd07::3"})
				s.Must("join6", map[string]any{"group": "ff15::1", "ifindex": ifi})
			}
			if c.typ == "udp" {
				s.Must("join", map[string]any{"group": "239.1.1.2", "ifindex": ifi4})
			}
			switch c.how {
			case "bound":
				s.Must("bind", map[string]any{"addr": "fd07::1", "port": 0})
			case "listening":
				s.Must("bind", map[string]any{"addr": "fd07::1", "port": 0})
				s.Must("listen", nil)
			}
			want := netnstest.Dump(t, st, s.Inode)
			got := netnstest.Dump(t, e, s.Inode)
			if diff := cmp.Diff(shared(want), shared(got), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("stock and exact differ (-stock +exact):\n%s", diff)
			}
			wantGroups := map[string]int{"udp": 3, "tcp": 0}[c.typ]
			if c.typ != "udp" && c.typ != "tcp" {
				wantGroups = 2
			}
			if len(got.Memberships) != wantGroups {
				t.Errorf("exact image has %d memberships, want %d", len(got.Memberships), wantGroups)
			}
			// What getsockopt cannot show: the exact reader read the socket
			// itself. The IPv4 list is in join order; the IPv6 one in the
			// canonical order, which is all the format carries.
			var order []string
			for _, m := range got.Memberships {
				order = append(order, m.Group.String()+"/"+m.Address.String())
			}
			wantOrder := map[string]string{"udp": "239.1.1.2/0.0.0.0 ff15::1/invalid IP ff35::2/invalid IP", "tcp": ""}[c.typ]
			if strings.HasPrefix(c.typ, "raw") || c.typ == "udplite" {
				wantOrder = "ff15::1/invalid IP ff35::2/invalid IP"
			}
			if got := strings.Join(order, " "); got != wantOrder {
				t.Errorf("memberships %s, want %s", got, wantOrder)
			}
			if wantJoin := c.typ == "udp" || c.typ == "udplite"; got.JoinOrder != wantJoin {
				t.Errorf("JoinOrder %v, want %v: the image carries the IPv4 list's join order", got.JoinOrder, wantJoin)
			}
			if c.how == "connected" && got.Values[230].Num != 41 {
				t.Errorf("unicast_hops %d, want the device's 41", got.Values[230].Num)
			}
			// Not the connected one: connect binds it to fd07::1 with v6only
			// still 0, which image.checkV6Only refuses (the stock image
			// alike; a defect of the image's check, reported).
			if _, err := image.Decode(got.Encode()); err != nil && c.how != "connected" {
				t.Fatalf("the exact dump does not decode: %v", err)
			}
			rows += len(got.Values)
		})
	}
	if rows == 0 {
		t.Fatal("no row compared")
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
