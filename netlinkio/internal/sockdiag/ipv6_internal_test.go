package sockdiag

import (
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// familyProtocols is every (family, protocol) pair a listing asks for.
func familyProtocols() (out []struct {
	family uint8
	p      struct {
		proto uint8
		typ   uint16
	}
}) {
	for _, f := range diagFamilies {
		for _, p := range diagProtocols {
			out = append(out, struct {
				family uint8
				p      struct {
					proto uint8
					typ   uint16
				}
			}{f, p})
		}
	}
	return out
}

// TestListIPv6 makes AF_INET6 sockets of each type (a dual-stack UDP one
// bound to [::]:PORT, a TCP listener on [::1], a raw one) and one bound to a
// link-local address of a veth, and checks that the listing shows each with
// its family, type, protocol and address, the link-local one with the
// interface as its zone, as getsockname gives its scope id.
func TestListIPv6(t *testing.T) {
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "v6a", "type", "veth", "peer", "name", "v6b"},
		{"addr", "add", "fe80::a/64", "dev", "v6a", "nodad"},
		{"link", "set", "v6a", "up"},
		{"link", "set", "v6b", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", "v6a").Run() })
	ifi, err := net.InterfaceByName("v6a")
	if err != nil {
		t.Fatal(err)
	}
	ifindex := ifi.Index
	type made struct {
		typ, proto uint16
		local      netip.AddrPort
	}
	sock := func(typ, proto int, sa unix.Sockaddr, listen bool) uint64 {
		fd, err := unix.Socket(unix.AF_INET6, typ|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if sa != nil {
			if err := unix.Bind(fd, sa); err != nil {
				t.Fatalf("bind %+v: %v", sa, err)
			}
		}
		if listen {
			if err := unix.Listen(fd, 1); err != nil {
				t.Fatal(err)
			}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	fe80 := netip.MustParseAddr("fe80::a")
	want := map[uint64]made{
		sock(unix.SOCK_DGRAM, unix.IPPROTO_UDP, &unix.SockaddrInet6{Port: 6000}, false):                                             {unix.SOCK_DGRAM, unix.IPPROTO_UDP, netip.MustParseAddrPort("[::]:6000")},
		sock(unix.SOCK_STREAM, unix.IPPROTO_TCP, &unix.SockaddrInet6{Port: 6001, Addr: netip.IPv6Loopback().As16()}, true):          {unix.SOCK_STREAM, unix.IPPROTO_TCP, netip.MustParseAddrPort("[::1]:6001")},
		sock(unix.SOCK_RAW, unix.IPPROTO_UDP, nil, false):                                                                           {unix.SOCK_RAW, unix.IPPROTO_UDP, netip.MustParseAddrPort("[::]:17")},
		sock(unix.SOCK_DGRAM, unix.IPPROTO_UDP, &unix.SockaddrInet6{Port: 6002, ZoneId: uint32(ifindex), Addr: fe80.As16()}, false): {unix.SOCK_DGRAM, unix.IPPROTO_UDP, netip.AddrPortFrom(fe80.WithZone(strconv.Itoa(ifindex)), 6002)},
	}
	got, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		w, ok := want[s.Inode]
		if !ok {
			continue
		}
		delete(want, s.Inode)
		if s.Family != unix.AF_INET6 || s.Type != w.typ || s.Protocol != w.proto || s.Local != w.local {
			t.Errorf("inode %d: family %d type %d protocol %d local %s; want AF_INET6, %d, %d, %s", s.Inode, s.Family, s.Type, s.Protocol, s.Local, w.typ, w.proto, w.local)
		}
	}
	for ino, w := range want {
		t.Errorf("inode %d (%+v) is not listed", ino, w)
	}
}
