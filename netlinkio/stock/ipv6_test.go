package stock_test

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// tune6 sets IPv6-level options away from their defaults on an AF_INET6
// socket, and IPv4-level ones too where the type takes them (UDP and TCP:
// they apply to its v4-mapped traffic).
func tune6(s *netnstest.Sock, typ string) {
	ip6 := unix.IPPROTO_IPV6
	s.SetInt(ip6, unix.IPV6_UNICAST_HOPS, 33)
	s.SetInt(ip6, unix.IPV6_TCLASS, 0x20)
	s.SetInt(ip6, unix.IPV6_RECVHOPLIMIT, 1)
	s.SetInt(ip6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DO)
	s.SetInt(ip6, unix.IPV6_FREEBIND, 1)
	s.SetInt(ip6, unix.IPV6_MINHOPCOUNT, 7)
	s.SetInt(ip6, unix.IPV6_DONTFRAG, 1)
	s.SetInt(ip6, unix.IPV6_AUTOFLOWLABEL, 0)
	s.SetInt(ip6, unix.IPV6_ADDR_PREFERENCES, 0x401) // tmp, home
	s.SetInt(ip6, unix.IPV6_MULTICAST_ALL, 0)
	s.SetInt(unix.SOL_SOCKET, unix.SO_MARK, 0x42)
	s.SetInt(unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if typ != "tcp" {
		s.SetInt(ip6, unix.IPV6_MULTICAST_HOPS, 9)
		s.SetInt(ip6, unix.IPV6_RECVPKTINFO, 1)
		s.SetInt(ip6, unix.IPV6_RECVERR, 1)
		s.SetInt(ip6, unix.IPV6_MULTICAST_LOOP, 0)
	}
	if !strings.HasPrefix(typ, "raw") {
		s.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 44)
		s.SetInt(unix.IPPROTO_IP, unix.IP_TOS, 0x10)
	}
}

// The seed's round trip on AF_INET6 sockets, dual-stack ones with their
// IPv4 state and groups included: dump, close, restore onto a fresh
// socket, dump again: byte-identical, and the values are there inside the
// holder (getsockopt in python3).
func TestIPv6RoundTripOntoFreshSocket(t *testing.T) {
	ifA := netnstest.Veth6(t, "r6a", "2001:db8:a::1/64")
	netnstest.Run(t, "ip", "addr", "add", "10.61.0.1/24", "dev", "r6a")
	ifB := netnstest.Veth6(t, "r6b", "2001:db8:b::1/64")
	cases := []roundTripCase{
		{"udp unbound", "udp", func(s *netnstest.Sock) {}},
		{"udp dual-stack with IPv4 and IPv6 groups", "udp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "::", "port": 0})
			s.Must("join", map[string]any{"group": "239.6.6.6", "ifindex": ifA})
			s.Must("join6", map[string]any{"group": "ff02::fb", "ifindex": ifA})
			s.Must("join6", map[string]any{"group": "ff02::fb", "ifindex": ifB})
			s.Must("join6", map[string]any{"group": "ff15::9", "ifindex": ifB})
			s.Must("join6_source", map[string]any{"group": "ff35::1", "ifindex": ifA, "source": "2001:db8:a::7"})
			s.Must("join6_source", map[string]any{"group": "ff35::1", "ifindex": ifA, "source": "2001:db8:a::5"})
		}},
		{"udp v6only bound", "udp", func(s *netnstest.Sock) {
			s.SetInt(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
			s.Must("bind", map[string]any{"addr": "2001:db8:a::1", "port": 0})
		}},
		{"udp connected", "udp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "2001:db8:a::1", "port": 0})
			s.Must("connect", map[string]any{"addr": "2001:db8:a::9", "port": 5353})
		}},
		{"udp connected to a v4-mapped peer", "udp", func(s *netnstest.Sock) {
			s.Must("connect", map[string]any{"addr": "::ffff:10.61.0.9", "port": 5353})
		}},
		{"udp bound to a link-local address", "udp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "fe80::1", "port": 0, "scope": ifA})
		}},
		{"tcp listening", "tcp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "::1", "port": 0})
			s.Must("listen", nil)
		}},
		{"tcp unconnected", "tcp", func(s *netnstest.Sock) {}},
		{"raw with a group", "raw17", func(s *netnstest.Sock) {
			s.Must("join6", map[string]any{"group": "ff02::1:3", "ifindex": ifA})
		}},
	}
	netnstest.Run(t, "ip", "-6", "addr", "add", "fe80::1/64", "dev", "r6a", "nodad")
	h := netnstest.NewHolder(t)
	roundTrips(t, cases, h.Socket6, tune6, func(t *testing.T, fresh *netnstest.Sock, kind string) {
		if img := netnstest.Dump(t, stock.NewStock(), fresh.Inode); img.Family != unix.AF_INET6 {
			t.Errorf("family %d", img.Family)
		}
		if got := fresh.GetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS); got != 33 {
			t.Errorf("hop limit inside the holder is %d, want 33", got)
		}
		if got := fresh.GetInt(unix.IPPROTO_IPV6, unix.IPV6_ADDR_PREFERENCES); got != 0x401 {
			t.Errorf("address preferences inside the holder are %#x, want 0x401", got)
		}
		if kind != "raw17" {
			if got := fresh.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 44 {
				t.Errorf("IPv4 TTL inside the holder is %d, want 44", got)
			}
		}
	})
}

// The dump shows what the holder set, read inside the holder: the group
// filter of an IPv6 source-specific membership, the link-local scope.
func TestIPv6DumpMatchesHolder(t *testing.T) {
	ifA := netnstest.Veth6(t, "d6a", "2001:db8:d::1/64")
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	s := h.Socket6("udp")
	s.Must("join6_source", map[string]any{"group": "ff35::2", "ifindex": ifA, "source": "2001:db8:d::9"})
	s.Must("join6", map[string]any{"group": "ff02::fb", "ifindex": ifA})
	s.Must("join", map[string]any{"group": "224.0.0.251", "ifindex": ifA})
	img := netnstest.Dump(t, st, s.Inode)
	want := []image.Membership{
		{Group: netip.MustParseAddr("224.0.0.251"), Address: netip.IPv4Unspecified(), Ifindex: int32(ifA)},
		{Group: netip.MustParseAddr("ff02::fb"), Ifindex: int32(ifA)},
		{Group: netip.MustParseAddr("ff35::2"), Ifindex: int32(ifA), Mode: image.ModeInclude, Sources: []netip.Addr{netip.MustParseAddr("2001:db8:d::9")}},
	}
	if len(img.Memberships) != len(want) {
		t.Fatalf("memberships %+v, want %+v", img.Memberships, want)
	}
	for i := range want {
		if !img.Memberships[i].Equal(want[i]) {
			t.Errorf("membership %d: %+v, want %+v", i, img.Memberships[i], want[i])
		}
	}
	if got := img.Values[hops(t)].Num; got != uint64(s.GetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS)) {
		t.Errorf("unicast_hops %d differs from the holder's", got)
	}
	maddr := netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "d6a")
	for _, g := range []string{"ff02::fb", "ff35::2"} {
		if !strings.Contains(maddr, g) {
			t.Errorf("ip -6 maddr does not show %s:\n%s", g, maddr)
		}
	}
}

func hops(t *testing.T) uint16 {
	o, ok := image.LookupOption("ip6opt", "unicast_hops")
	if !ok {
		t.Fatal("no ip6opt/unicast_hops")
	}
	return o.Attr
}

// A restore never changes a socket's family: an AF_INET image onto an
// AF_INET6 socket, and the reverse, is refused naming FAMILY, and the
// socket is left as it was.
func TestRestoreRefusesOtherFamily(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	v4, v6 := h.Socket("udp"), h.Socket6("udp")
	img4, img6 := netnstest.Dump(t, st, v4.Inode), netnstest.Dump(t, st, v6.Inode)
	for _, c := range []struct {
		target *netnstest.Sock
		before *image.Image
		img    *image.Image
		want   string
	}{
		{v6, img6, img4, "image is AF_INET, socket is AF_INET6"},
		{v4, img4, img6, "image is AF_INET6, socket is AF_INET"},
	} {
		err := st.Restore(c.target.Inode, c.img)
		if err == nil || !strings.Contains(err.Error(), "FAMILY: "+c.want) || !errors.Is(err, syscall.EINVAL) {
			t.Errorf("restore: %v, want EINVAL naming FAMILY: %s", err, c.want)
		}
		netnstest.SameImage(t, "after the refusal", c.before, netnstest.Dump(t, st, c.target.Inode))
	}
}

// v6only changes only while a socket is unbound (the kernel's rule): a
// restore that would change it on a bound socket is refused before it
// changes anything else; onto an unbound one it is set before the bind.
func TestV6OnlyOnlyWhileUnbound(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	o, _ := image.LookupOption("ip6opt", "v6only")
	bound := h.Socket6("udp")
	bound.Must("bind", map[string]any{"addr": "::", "port": 0})
	before := netnstest.Dump(t, st, bound.Inode)
	want := before.Clone()
	want.Values[o.Attr] = image.Value{Num: 1}
	want.Values[hops(t)] = image.Value{Num: 99}
	err := st.Restore(bound.Inode, want)
	if err == nil || !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "IP6OPT_V6ONLY: cannot change from 0 to 1: the socket is bound ([::]:"+strconv.Itoa(int(before.Local.Port()))) {
		t.Fatalf("restore onto a bound socket: %v", err)
	}
	netnstest.SameImage(t, "after the refusal", before, netnstest.Dump(t, st, bound.Inode))
	if got := bound.GetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS); got == 99 {
		t.Error("the hop limit changed although the restore was refused")
	}

	// Onto a fresh unbound socket: v6only first, then the bind.
	bound.Close()
	fresh := h.Socket6("udp")
	if err := st.Restore(fresh.Inode, want); err != nil {
		t.Fatalf("restore onto an unbound socket: %v", err)
	}
	if got := fresh.GetInt(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); got != 1 {
		t.Errorf("v6only inside the holder is %d, want 1", got)
	}
	var r struct {
		Local []any `json:"local"`
	}
	fresh.H.Must(map[string]any{"op": "sockname", "fd": fresh.Fd}, &r)
	if len(r.Local) < 2 || r.Local[1] != float64(want.Local.Port()) {
		t.Errorf("the fresh socket is bound to %v, want port %d", r.Local, want.Local.Port())
	}
}

// Every kernel call of a full restore of a dual-stack AF_INET6 socket
// (IPv6 and IPv4 options, IPv6 groups with an MLDv2 filter, an IPv4
// group, bind, connect) fails in turn, and each time the target is left
// as it was.
func TestEveryFaultRollsBackIPv6(t *testing.T) {
	ifA := netnstest.Veth6(t, "f6a", "2001:db8:f6::1/64")
	h := netnstest.NewHolder(t)
	everyFaultRollsBack(t, func() *netnstest.Sock { return h.Socket6("udp") }, func(src *netnstest.Sock) {
		tune6(src, "udp")
		src.Must("bind", map[string]any{"addr": "2001:db8:f6::1", "port": 0})
		src.Must("connect", map[string]any{"addr": "2001:db8:f6::2", "port": 9})
		src.Must("join6", map[string]any{"group": "ff15::6", "ifindex": ifA})
		src.Must("join6_source", map[string]any{"group": "ff35::6", "ifindex": ifA, "source": "2001:db8:f6::3"})
		src.Must("join", map[string]any{"group": "239.6.6.6", "ifindex": ifA})
	}, func(target *netnstest.Sock) {
		target.Must("join6", map[string]any{"group": "ff15::8", "ifindex": ifA}) // something to leave
	})
}
