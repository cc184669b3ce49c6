package exact_test

import (
	"math/bits"
	"os"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

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
			sameShared(t, want, got)
			wantGroups := map[string]int{"udp": 3, "tcp": 0}[c.typ]
			if c.typ != "udp" && c.typ != "tcp" {
				wantGroups = 2
			}
			if len(got.Memberships) != wantGroups {
				t.Errorf("exact image has %d memberships, want %d", len(got.Memberships), wantGroups)
			}
			// What getsockopt cannot show: the exact reader read the socket
			// itself. Both lists are in join order: ff35::2, then ff15::1.
			var order []string
			for _, m := range got.Memberships {
				order = append(order, m.Group.String()+"/"+m.Address.String())
			}
			wantOrder := map[string]string{"udp": "239.1.1.2/0.0.0.0 ff35::2/invalid IP ff15::1/invalid IP", "tcp": ""}[c.typ]
			if strings.HasPrefix(c.typ, "raw") || c.typ == "udplite" {
				wantOrder = "ff35::2/invalid IP ff15::1/invalid IP"
			}
			if got := strings.Join(order, " "); got != wantOrder {
				t.Errorf("memberships %s, want %s", got, wantOrder)
			}
			if wantJoin := c.typ == "udp" || c.typ == "udplite"; got.JoinOrder != wantJoin {
				t.Errorf("JoinOrder %v, want %v: the image carries the IPv4 list's join order", got.JoinOrder, wantJoin)
			}
			if wantJoin6 := c.typ != "tcp"; got.JoinOrder6 != wantJoin6 {
				t.Errorf("JoinOrder6 %v, want %v: the image carries the IPv6 list's join order", got.JoinOrder6, wantJoin6)
			}
			if c.how == "connected" && got.Values[230].Num != 41 {
				t.Errorf("unicast_hops %d, want the device's 41", got.Values[230].Num)
			}
			// The connected one too: connect binds it to fd07::1 with
			// v6only still 0, which the image accepts for a socket with a
			// peer.
			if _, err := image.Decode(got.Encode()); err != nil {
				t.Fatalf("the exact dump does not decode: %v", err)
			}
			rows += len(got.Values)
		})
	}
	if rows == 0 {
		t.Fatal("no row compared")
	}
}
