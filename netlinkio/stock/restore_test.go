package stock_test

import (
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// The seed's round trip: dump a socket, close it, restore the image onto a
// fresh unbound socket of the same kind, dump again: byte-identical.
func TestRoundTripOntoFreshSocket(t *testing.T) {
	ifA := netnstest.Veth(t, "rta", "10.11.0.1/24")
	ifB := netnstest.Veth(t, "rtb", "10.12.0.1/24")
	cases := []roundTripCase{
		{"udp unbound", "udp", func(s *netnstest.Sock) {}},
		{"udp bound with memberships", "udp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 0})
			s.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": ifA})
			s.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": ifB})
			s.Must("join", map[string]any{"group": "239.9.9.9", "ifindex": ifB})
			s.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.11.0.1", "source": "10.11.0.7"})
			s.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.11.0.1", "source": "10.11.0.5"})
		}},
		{"udp connected", "udp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "10.11.0.1", "port": 0})
			s.Must("connect", map[string]any{"addr": "10.11.0.9", "port": 5353})
		}},
		{"udplite bound", "udplite", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
		}},
		{"tcp listening", "tcp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
			s.Must("listen", nil)
		}},
		{"tcp unconnected", "tcp", func(s *netnstest.Sock) {}},
		{"tcp bound", "tcp", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "10.12.0.1", "port": 0})
		}},
		{"raw udp", "raw17", func(s *netnstest.Sock) {
			s.Must("join", map[string]any{"group": "239.4.4.4", "ifindex": ifA})
		}},
		{"raw bound", "raw255", func(s *netnstest.Sock) {
			s.Must("bind", map[string]any{"addr": "10.11.0.1", "port": 0})
		}},
	}
	h := netnstest.NewHolder(t)
	roundTrips(t, cases, h.Socket, tune, func(t *testing.T, fresh *netnstest.Sock, kind string) {
		if got := fresh.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 33 {
			t.Errorf("ttl inside the holder is %d, want 33", got)
		}
	})
}

// roundTripCase is a socket a round trip starts from: made of kind, then
// set up by prepare.
type roundTripCase struct {
	name, kind string
	prepare    func(s *netnstest.Sock)
}

// roundTrips makes each case's socket (newSock, tune, prepare), dumps it,
// closes it, restores the image onto a fresh socket of the same kind and
// requires the fresh socket's image to be byte-identical; check then
// looks inside the holder.
func roundTrips(t *testing.T, cases []roundTripCase, newSock func(kind string) *netnstest.Sock, tune func(*netnstest.Sock, string), check func(t *testing.T, fresh *netnstest.Sock, kind string)) {
	st := stock.NewStock()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := newSock(c.kind)
			tune(orig, c.kind)
			c.prepare(orig)
			want := netnstest.Dump(t, st, orig.Inode)
			orig.Close()
			fresh := newSock(c.kind)
			if err := st.Restore(fresh.Inode, want); err != nil {
				t.Fatalf("restore: %v", err)
			}
			netnstest.SameImage(t, "after restore", want, netnstest.Dump(t, st, fresh.Inode))
			check(t, fresh, c.kind)
		})
	}
}

func TestMembershipsShowInIPMaddr(t *testing.T) {
	netnstest.Require(t, "ip")
	ifA := netnstest.Veth(t, "mma", "10.21.0.1/24")
	stock := stock.NewStock()
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	img := netnstest.Dump(t, stock, s.Inode)
	img.Memberships = append(img.Memberships,
		image.Membership{Group: mustAddr("239.7.7.7"), Ifindex: int32(ifA)},
		image.Membership{Group: mustAddr("232.7.7.7"), Ifindex: int32(ifA), Mode: image.ModeInclude, Sources: []netip.Addr{mustAddr("10.21.0.8")}})
	img.Ifnames = map[int32]string{int32(ifA): "mma"} // as a dump names it
	if err := stock.Restore(s.Inode, img); err != nil {
		t.Fatal(err)
	}
	maddr := netnstest.Run(t, "ip", "maddr", "show", "dev", "mma")
	for _, g := range []string{"239.7.7.7", "232.7.7.7"} {
		if !strings.Contains(maddr, g) {
			t.Errorf("ip maddr does not show %s:\n%s", g, maddr)
		}
	}
	netnstest.SameImage(t, "after joins", img, netnstest.Dump(t, stock, s.Inode))
	img.Memberships = nil
	if err := stock.Restore(s.Inode, img); err != nil {
		t.Fatal(err)
	}
	if maddr := netnstest.Run(t, "ip", "maddr", "show", "dev", "mma"); strings.Contains(maddr, "239.7.7.7") {
		t.Errorf("ip maddr still shows 239.7.7.7 after the leave:\n%s", maddr)
	}
}

// A restore that fails halfway leaves the socket byte-identical to before.
func TestFailedRestoreLeavesSocketAsItWas(t *testing.T) {
	stock := stock.NewStock()
	h := netnstest.NewHolder(t)
	ifGone := netnstest.Veth(t, "gone", "10.31.0.1/24")
	s := h.Socket("udp")
	tune(s, "udp")
	s.Must("join", map[string]any{"group": "239.3.3.3", "ifindex": 1})
	before := netnstest.Dump(t, stock, s.Inode)

	t.Run("option the kernel refuses", func(t *testing.T) {
		img := before.Clone()
		setText(t, img, "ipopt", "ttl", "99")
		setText(t, img, "sockopt", "priority", "3")
		setText(t, img, "ipopt", "multicast_if", "10.99.99.99") // no such local address
		img.Memberships = nil
		err := stock.Restore(s.Inode, img)
		if err == nil || !strings.Contains(err.Error(), "IPOPT_MULTICAST_IF") {
			t.Fatalf("restore: %v, want a failure naming IPOPT_MULTICAST_IF", err)
		}
		netnstest.SameImage(t, "after the failed restore", before, netnstest.Dump(t, stock, s.Inode))
	})
	t.Run("group on an interface that vanished", func(t *testing.T) {
		img := before.Clone()
		setText(t, img, "ipopt", "ttl", "77")
		img.Memberships = append(img.Memberships, image.Membership{Group: mustAddr("239.5.5.5"), Ifindex: int32(ifGone)})
		netnstest.Run(t, "ip", "link", "del", "gone")
		err := stock.Restore(s.Inode, img)
		if err == nil || !strings.Contains(err.Error(), "join 239.5.5.5") {
			t.Fatalf("restore: %v, want a failure at the join", err)
		}
		netnstest.SameImage(t, "after the failed restore", before, netnstest.Dump(t, stock, s.Inode))
	})
	t.Run("invalid images", func(t *testing.T) {
		bad := []func(*image.Image){
			func(i *image.Image) { i.Values[47] = image.Value{Num: 0} },  // ttl 0
			func(i *image.Image) { i.Values[50] = image.Value{Num: 17} }, // mtu_discover
			func(i *image.Image) { i.Type = unix.SOCK_STREAM; i.Protocol = unix.IPPROTO_TCP },
			func(i *image.Image) { i.Protocol = unix.IPPROTO_UDPLITE },
			func(i *image.Image) { i.Memberships = append(i.Memberships, i.Memberships[0]) },
		}
		for k, corrupt := range bad {
			img := before.Clone()
			setText(t, img, "ipopt", "ttl", "12")
			corrupt(img)
			if err := stock.Restore(s.Inode, img); !errors.Is(err, syscall.EINVAL) {
				t.Errorf("case %d: restore gave %v, want EINVAL", k, err)
			}
			netnstest.SameImage(t, "after a refused restore", before, netnstest.Dump(t, stock, s.Inode))
		}
	})
}

// Fault injection: the k-th kernel call of a full restore fails, for every
// k; each time the socket ends byte-identical to before.
func TestEveryFaultRollsBack(t *testing.T) {
	ifA := netnstest.Veth(t, "fla", "10.41.0.1/24")
	h := netnstest.NewHolder(t)
	everyFaultRollsBack(t, func() *netnstest.Sock { return h.Socket("udp") }, func(src *netnstest.Sock) {
		tune(src, "udp")
		src.Must("bind", map[string]any{"addr": "10.41.0.1", "port": 0})
		src.Must("connect", map[string]any{"addr": "10.41.0.2", "port": 9})
		src.Must("join", map[string]any{"group": "239.6.6.6", "ifindex": ifA})
		src.Must("join_source", map[string]any{"group": "232.6.6.6", "iface_addr": "10.41.0.1", "source": "10.41.0.3"})
	}, func(target *netnstest.Sock) {
		target.Must("join", map[string]any{"group": "239.8.8.8", "ifindex": ifA}) // something to leave
	})
}

// everyFaultRollsBack dumps a socket that prepare set up, then restores
// that image onto fresh sockets (each with what other adds), failing the
// k-th kernel call of the restore for every k: each time the target's
// image must be as before, but for the bind, which cannot be undone
// (and v6only, which the kernel fixes at bind).
func everyFaultRollsBack(t *testing.T, fresh func() *netnstest.Sock, prepare, other func(*netnstest.Sock)) {
	t.Helper()
	src := fresh()
	prepare(src)
	stock := stock.NewStock()
	want := netnstest.Dump(t, stock, src.Inode)
	src.Close()

	var calls []string
	stock.Fault = func(call string) error { calls = append(calls, call); return nil }
	probe := fresh()
	other(probe)
	if err := stock.Restore(probe.Inode, want); err != nil {
		t.Fatal(err)
	}
	total := len(calls)
	if total < 10 {
		t.Fatalf("a full restore made only %d calls: %v", total, calls)
	}
	for k := 0; k < total; k++ {
		target := fresh()
		other(target)
		stock.Fault = nil
		before := netnstest.Dump(t, stock, target.Inode)
		n := 0
		stock.Fault = func(call string) error {
			n++
			if n == k+1 {
				return syscall.EIO
			}
			return nil
		}
		err := stock.Restore(target.Inode, want)
		stock.Fault = nil
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("fault at call %d (%s): restore gave %v", k+1, calls[k], err)
		}
		got := netnstest.Dump(t, stock, target.Inode)
		if strings.HasPrefix(calls[k], "connect") {
			// Bind cannot be undone: a fault after it leaves the socket
			// bound, with what the kernel fixes at bind (v6only), and
			// only that.
			before.Local = got.Local
			for _, o := range image.SharedOptionsFor(before.Family, before.Type) {
				if o.UnboundOnly {
					before.Values[o.Attr] = got.Values[o.Attr]
				}
			}
		}
		netnstest.SameImage(t, "after a fault at "+calls[k], before, got)
		target.Close()
	}
	t.Logf("%d faults injected, every one rolled back", total)
}
