package exact_test

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// mreqn is a struct ip_mreqn.
func mreqn(group, address string, ifindex int) []byte {
	g, a := netip.MustParseAddr(group).As4(), netip.MustParseAddr(address).As4()
	return binary.NativeEndian.AppendUint32(append(g[:], a[:]...), uint32(ifindex))
}

func row(t *testing.T, name string) *image.Option {
	t.Helper()
	o, ok := image.LookupOption("ipopt", name)
	if !ok {
		t.Fatalf("no row ipopt/%s", name)
	}
	return o
}

// Where the readers differ, the exact one has what the holder set: the
// multicast interface by index, a group joined by address, the join
// order C, A, B of IPv4 and of IPv6 groups, and the TTL that follows the
// default.
func TestExactKnowsMore(t *testing.T) {
	e, st := open(t), stock.NewStock()
	h := netnstest.NewHolder(t)
	ifi := netnstest.Veth(t, "more0", "10.8.0.1/24")
	s := h.Socket("udp")
	// ptp4l's way: the interface by index only.
	s.SetBytes(ip, unix.IP_MULTICAST_IF, mreqn("0.0.0.0", "0.0.0.0", ifi))
	// avahi-daemon's way: the group with an interface address.
	s.SetBytes(ip, unix.IP_ADD_MEMBERSHIP, mreqn("239.0.0.3", "10.8.0.1", 0))  // C
	s.SetBytes(ip, unix.IP_ADD_MEMBERSHIP, mreqn("239.0.0.1", "0.0.0.0", ifi)) // A
	s.SetBytes(ip, unix.IP_ADD_MEMBERSHIP, mreqn("239.0.0.2", "0.0.0.0", ifi)) // B

	ex := netnstest.Dump(t, e, s.Inode)
	sk := netnstest.Dump(t, st, s.Inode)
	if got := ex.Values[row(t, "multicast_ifindex").Attr].Num; got != uint64(ifi) {
		t.Errorf("exact multicast_ifindex %d, the holder set %d", got, ifi)
	}
	if sk.Knows(row(t, "multicast_ifindex")) {
		t.Errorf("the stock image claims to know the multicast ifindex")
	}
	if got := row(t, "multicast_if").Format(sk.Values[56]); got != "0.0.0.0" {
		t.Errorf("stock multicast_if %s: getsockopt shows the address only, 0.0.0.0", got)
	}
	var order []string
	for _, m := range ex.Memberships {
		order = append(order, m.Group.String()+"/"+m.Address.String())
		if m.Ifindex != int32(ifi) {
			t.Errorf("%s on ifindex %d, want %d", m.Group, m.Ifindex, ifi)
		}
	}
	want := []string{"239.0.0.3/10.8.0.1", "239.0.0.1/0.0.0.0", "239.0.0.2/0.0.0.0"}
	if len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Errorf("exact memberships %v, want join order %v", order, want)
	}
	if !ex.JoinOrder || sk.JoinOrder {
		t.Errorf("JoinOrder: exact %v, stock %v", ex.JoinOrder, sk.JoinOrder)
	}
	if sk.Memberships[0].Group.String() != "239.0.0.1" || sk.Memberships[2].Address.IsValid() && !sk.Memberships[2].Address.IsUnspecified() {
		t.Errorf("stock memberships %v: canonical order, no addresses", sk.Memberships)
	}
	// The image keeps the order through its encoding.
	back, err := image.Decode(ex.Encode())
	if err != nil || back.Memberships[0].Group.String() != "239.0.0.3" || !back.JoinOrder {
		t.Fatalf("decoded %v, %v: the order is lost", back, err)
	}

	knowsJoinOrder6(t, e, st, h)

	ttl, def := row(t, "ttl"), row(t, "ttl_default")
	for _, c := range []struct {
		set      int
		def, val uint64
	}{{0, 1, 64}, {33, 0, 33}, {-1, 1, 64}} {
		if c.set != 0 {
			s.SetInt(ip, unix.IP_TTL, c.set)
		}
		img := netnstest.Dump(t, e, s.Inode)
		if img.Values[def.Attr].Num != c.def || img.Values[ttl.Attr].Num != c.val {
			t.Errorf("after IP_TTL %d: ttl_default %d ttl %d, want %d %d (getsockopt in the holder: %d)",
				c.set, img.Values[def.Attr].Num, img.Values[ttl.Attr].Num, c.def, c.val, s.GetInt(ip, unix.IP_TTL))
		}
	}
}

// The seed's round trip: an exact image restored onto a fresh socket
// gives a clone whose exact image is the same, byte for byte, membership
// order, addresses, interface index and "follow the default" included;
// for AF_INET6 with every ip6opt row set and IPv6 groups with filters,
// and with IPv6 groups joined in other than the canonical order.
func TestRoundTripOntoFreshSocket(t *testing.T) {
	e := open(t)
	h := netnstest.NewHolder(t)
	ifi := netnstest.Veth(t, "trip0", "10.9.0.1/24")
	ifi6 := netnstest.Veth6(t, "trip6", "fd09::1/64")
	t.Run("ipv4", func(t *testing.T) {
		src := h.Socket("udp")
		src.SetInt(ip, unix.IP_MULTICAST_TTL, 4)
		src.SetBytes(ip, unix.IP_MULTICAST_IF, mreqn("0.0.0.0", "10.9.0.1", ifi))
		src.SetBytes(ip, unix.IP_ADD_MEMBERSHIP, mreqn("239.0.0.3", "10.9.0.1", 0))
		src.SetBytes(ip, unix.IP_ADD_MEMBERSHIP, mreqn("239.0.0.1", "0.0.0.0", ifi))
		src.Must("join_source", map[string]any{"group": "232.0.0.2", "iface_addr": "10.9.0.1", "source": "10.9.0.7"})
		src.SetInt(unix.SOL_SOCKET, unix.SO_PRIORITY, 3)
		dst := h.Socket("udp")
		dst.SetInt(ip, unix.IP_TTL, 64) // pinned at the default's value: the restore must unpin it
		roundTrip(t, e, src, dst)
	})
	t.Run("ipv6-join-order", func(t *testing.T) { roundTripJoinOrder6(t, e, h) })
	for _, typ := range []string{"udp", "tcp", "raw17"} {
		t.Run("ipv6-"+typ, func(t *testing.T) {
			src := h.Socket6(typ)
			tune6(src, typ, ifi6)
			if typ != "tcp" {
				src.Must("join6_source", map[string]any{"group": "ff35::2", "ifindex": ifi6, "source": "fd09::9"})
				src.Must("join6_source", map[string]any{"group": "ff35::2", "ifindex": ifi6, "source": "fd09::3"})
				src.Must("join6", map[string]any{"group": "ff15::1", "ifindex": ifi6})
			}
			if typ == "udp" {
				src.SetBytes(ip, unix.IP_ADD_MEMBERSHIP, mreqn("239.0.0.3", "10.9.0.1", 0))
			}
			roundTrip(t, e, src, h.Socket6(typ))
		})
	}
}

// roundTrip restores src's exact image onto dst and wants dst's the same.
func roundTrip(t *testing.T, e *exact.Exact, src, dst *netnstest.Sock) {
	t.Helper()
	want := netnstest.Dump(t, e, src.Inode)
	if err := e.Restore(dst.Inode, want); err != nil {
		t.Fatal(err)
	}
	got := netnstest.Dump(t, e, dst.Inode)
	netnstest.SameImage(t, "clone", want, got)
	if string(want.Encode()) != string(got.Encode()) {
		t.Fatal("encodings differ")
	}
	// Restoring the same image again changes nothing: no step at all.
	if err := e.Restore(dst.Inode, want); err != nil {
		t.Fatal(err)
	}
	netnstest.SameImage(t, "after a second restore", want, netnstest.Dump(t, e, dst.Inode))
}

// knowsJoinOrder6: an AF_INET6 UDP socket joins ff15::c, ff15::a, ff15::b
// in that order. The exact image lists them so, with
// IP6OPT_MEMBERSHIP_ORDER; the stock one, which cannot see the order,
// canonical and without the flag. The device's own list
// (/proc/net/igmp6, newest first) confirms the join order without the
// exact reader.
func knowsJoinOrder6(t *testing.T, e *exact.Exact, st *stock.Stock, h *netnstest.Holder) {
	t.Helper()
	ifi := netnstest.Veth6(t, "more6", "fd08::1/64")
	s := h.Socket6("udp")
	for _, g := range []string{"ff15::c", "ff15::a", "ff15::b"} {
		s.Must("join6", map[string]any{"group": g, "ifindex": ifi})
	}
	if got := strings.Join(deviceGroups(t, "more6", "ff15::"), " "); got != "ff15::b ff15::a ff15::c" {
		t.Fatalf("/proc/net/igmp6 lists %s on more6, want ff15::b ff15::a ff15::c (newest first)", got)
	}
	ex := netnstest.Dump(t, e, s.Inode)
	sk := netnstest.Dump(t, st, s.Inode)
	if got := groups6(ex); got != "ff15::c ff15::a ff15::b" {
		t.Errorf("exact IPv6 memberships %s, want the join order ff15::c ff15::a ff15::b", got)
	}
	if !ex.JoinOrder6 || sk.JoinOrder6 {
		t.Errorf("JoinOrder6: exact %v, stock %v; want true, false", ex.JoinOrder6, sk.JoinOrder6)
	}
	if got := groups6(sk); got != "ff15::a ff15::b ff15::c" {
		t.Errorf("stock IPv6 memberships %s, want the canonical order", got)
	}
	back, err := image.Decode(ex.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got := groups6(back); got != "ff15::c ff15::a ff15::b" || !back.JoinOrder6 {
		t.Errorf("decoded IPv6 memberships %s, JoinOrder6 %v: the order is lost", got, back.JoinOrder6)
	}
}
