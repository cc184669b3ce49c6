package exact_test

import (
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// TestRestoreFollowsTheDefault: a socket that follows a sysctl (IP_TTL -1,
// IPV6_UNICAST_HOPS -1, TCP_LINGER2 0) has an exact image that says so,
// and that image restored onto a socket with a value of its own makes it
// follow the sysctl again: the sysctl changed afterwards reaches it, as
// getsockopt in its holder shows. A restore onto a socket that follows
// already changes nothing.
func TestRestoreFollowsTheDefault(t *testing.T) {
	e := open(t)
	h := netnstest.NewHolder(t)
	for _, c := range []struct {
		name, kind, row, dflt string
		family                int
		level, opt, own       int
		sysctl, now           string
		want                  int // getsockopt after the sysctl is now
	}{
		{"ttl", "udp", "ttl", "ttl_default", 4, unix.IPPROTO_IP, unix.IP_TTL, 33, "/proc/sys/net/ipv4/ip_default_ttl", "99", 99},
		{"unicast hops", "udp", "unicast_hops", "unicast_hops_default", 6, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 33, "/proc/sys/net/ipv6/conf/all/hop_limit", "98", 98},
		{"linger2", "tcp", "linger2", "linger2_default", 4, unix.SOL_TCP, unix.TCP_LINGER2, 33, "/proc/sys/net/ipv4/tcp_fin_timeout", "97", 97},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, ok := image.LookupOption(dirOf(c.family, c.level), c.dflt)
			if !ok {
				t.Fatalf("no row %s", c.dflt)
			}
			socket := h.Socket
			if c.family == 6 {
				socket = h.Socket6
			}
			follows, own := socket(c.kind), socket(c.kind)
			own.SetInt(c.level, c.opt, c.own)
			img := netnstest.Dump(t, e, follows.Inode)
			if img.Values[o.Attr].Num != 1 {
				t.Fatalf("the socket that follows: %s %d, want 1", c.dflt, img.Values[o.Attr].Num)
			}
			if got := netnstest.Dump(t, e, own.Inode).Values[o.Attr].Num; got != 0 {
				t.Fatalf("the socket with %s %d: %s %d, want 0", c.row, c.own, c.dflt, got)
			}
			if err := e.Restore(own.Inode, img); err != nil {
				t.Fatal(err)
			}
			if err := e.Restore(follows.Inode, img); err != nil {
				t.Fatal(err)
			}
			setSysctl(t, c.sysctl, c.now)
			for _, s := range []*netnstest.Sock{own, follows} {
				if got := s.GetInt(c.level, c.opt); got != c.want {
					t.Errorf("%s of socket %d after %s = %s: %d, want %d (it follows the sysctl)", c.row, s.Inode, c.sysctl, c.now, got, c.want)
				}
			}
			if got := netnstest.Dump(t, e, own.Inode).Values[o.Attr].Num; got != 1 {
				t.Errorf("restored: %s %d, want 1", c.dflt, got)
			}
		})
	}
}

// dirOf is the option directory of a level.
func dirOf(family, level int) string {
	switch {
	case level == unix.SOL_TCP:
		return "tcpopt"
	case family == 6:
		return "ip6opt"
	}
	return "ipopt"
}
