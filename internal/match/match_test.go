package match

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// udp is a UDP socket on local, with peer and holders.
func udp(ino uint64, local, peer string, hs ...image.Holder) Socket {
	return Socket{Inode: ino, Holders: hs, Identity: Identity{
		Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP,
		Local: netip.MustParseAddrPort(local), Peer: netip.MustParseAddrPort(peer)}}
}

func in(s Socket, ns Netns, cgroup string) Socket {
	s.Netns, s.Cgroup = ns, cgroup
	return s
}

func tcp(ino uint64, local string) Socket {
	s := udp(ino, local, "0.0.0.0:0")
	s.Type, s.Protocol = unix.SOCK_STREAM, unix.IPPROTO_TCP
	return s
}

func h(pid, fd int, comm string) image.Holder { return image.Holder{Pid: pid, Fd: fd, Comm: comm} }

const any = "0.0.0.0:0"

func TestMatch(t *testing.T) {
	host, blue := Netns{Inode: 4026531840}, Netns{Inode: 4026532001, Name: "blue"}
	blueAgain := Netns{Inode: 4026532999, Name: "blue"}
	for _, c := range []struct {
		name  string
		saved []Socket
		live  []Socket
		want  []string // per saved socket: "=INODE", "?" ambiguous, "!" unmatched, then a part of the reason
	}{
		{"same identity, new inode",
			[]Socket{udp(1, "0.0.0.0:5000", any)},
			[]Socket{udp(90, "0.0.0.0:5001", any), udp(91, "0.0.0.0:5000", any)},
			[]string{"=91"}},
		{"peer differs",
			[]Socket{udp(1, "10.0.0.1:5000", "10.0.0.2:53")},
			[]Socket{udp(91, "10.0.0.1:5000", "10.0.0.3:53")},
			[]string{"!has peer 10.0.0.3:53, not 10.0.0.2:53"}},
		{"protocol differs",
			[]Socket{tcp(1, "0.0.0.0:5000")},
			[]Socket{udp(91, "0.0.0.0:5000", any)},
			[]string{"!no live tcp socket on 0.0.0.0:5000"}},
		{"address differs",
			[]Socket{udp(1, "127.0.0.1:5000", any)},
			[]Socket{udp(91, "0.0.0.0:5000", any)},
			[]string{"!is bound to 0.0.0.0:5000"}},
		{"unbound",
			[]Socket{udp(1, any, any)},
			[]Socket{udp(91, any, any)},
			[]string{"!not bound"}},
		{"reuseport: two live sockets, nothing tells them apart",
			[]Socket{udp(1, "0.0.0.0:5000", any)},
			[]Socket{udp(91, "0.0.0.0:5000", any, h(10, 3, "py")), udp(92, "0.0.0.0:5000", any, h(10, 4, "py"))},
			[]string{"?2 live sockets"}},
		{"reuseport: fds tell them apart",
			[]Socket{udp(1, "0.0.0.0:5000", any, h(7, 4, "py")), udp(2, "0.0.0.0:5000", any, h(7, 3, "py"))},
			[]Socket{udp(91, "0.0.0.0:5000", any, h(10, 3, "py")), udp(92, "0.0.0.0:5000", any, h(10, 4, "py"))},
			[]string{"=92", "=91"}},
		{"command names tell them apart",
			[]Socket{udp(1, "0.0.0.0:5000", any, h(7, 9, "socat"))},
			[]Socket{udp(91, "0.0.0.0:5000", any, h(10, 9, "python3")), udp(92, "0.0.0.0:5000", any, h(11, 5, "socat"))},
			[]string{"=92"}},
		{"same command, same fd, two processes",
			[]Socket{udp(1, "0.0.0.0:5000", any, h(7, 3, "worker"))},
			[]Socket{udp(91, "0.0.0.0:5000", any, h(10, 3, "worker")), udp(92, "0.0.0.0:5000", any, h(11, 3, "worker"))},
			[]string{"?91 (worker pid 10 fd 3); 92 (worker pid 11 fd 3)"}},
		{"two saved sockets would take one live socket",
			[]Socket{udp(1, "0.0.0.0:5000", any), udp(2, "0.0.0.0:5000", any)},
			[]Socket{udp(91, "0.0.0.0:5000", any)},
			[]string{"?matches saved 2 as well", "?matches saved 1 as well"}},
		{"namespace by inode",
			[]Socket{in(udp(1, "0.0.0.0:5000", any), Netns{Inode: 4026532001}, "")},
			[]Socket{in(udp(91, "0.0.0.0:5000", any), host, ""), in(udp(92, "0.0.0.0:5000", any), Netns{Inode: 4026532001}, "")},
			[]string{"=92"}},
		{"namespace by name, made again",
			[]Socket{in(udp(1, "0.0.0.0:5000", any), blue, "")},
			[]Socket{in(udp(91, "0.0.0.0:5000", any), host, ""), in(udp(92, "0.0.0.0:5000", any), blueAgain, "")},
			[]string{"=92"}},
		{"namespace gone",
			[]Socket{in(udp(1, "0.0.0.0:5000", any), blue, "")},
			[]Socket{in(udp(91, "0.0.0.0:5000", any), host, "")},
			[]string{"!is in network namespace net:[4026531840], not net:[4026532001] (blue)"}},
		{"unknown namespace matches any",
			[]Socket{udp(1, "0.0.0.0:5000", any)},
			[]Socket{in(udp(91, "0.0.0.0:5000", any), blue, "")},
			[]string{"=91"}},
		{"container by cgroup",
			[]Socket{in(udp(1, "0.0.0.0:5000", any), Netns{}, "/docker/abc")},
			[]Socket{in(udp(91, "0.0.0.0:5000", any), Netns{Inode: 5}, "/docker/def"), in(udp(92, "0.0.0.0:5000", any), Netns{Inode: 6}, "/docker/abc")},
			[]string{"=92"}},
		{"cgroup differs",
			[]Socket{in(udp(1, "0.0.0.0:5000", any), Netns{}, "/docker/abc")},
			[]Socket{in(udp(91, "0.0.0.0:5000", any), Netns{}, "/docker/def")},
			[]string{"!is in cgroup /docker/def, not /docker/abc"}},
		{"a partial match",
			[]Socket{udp(1, "0.0.0.0:5000", any), tcp(2, "0.0.0.0:8080")},
			[]Socket{udp(91, "0.0.0.0:5000", any)},
			[]string{"=91", "!no live tcp socket on 0.0.0.0:8080"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := Match(c.saved, c.live)
			for i, r := range rs {
				var got string
				switch r.Outcome {
				case Matched:
					got = "=" + Describe(r.Live)
				case Ambiguous:
					got = "?" + r.Reason
				case Unmatched:
					got = "!" + r.Reason
				}
				if got[0] != c.want[i][0] || !strings.Contains(got, c.want[i][1:]) {
					t.Errorf("saved %d: got %q, want %q", c.saved[i].Inode, got, c.want[i])
				}
			}
		})
	}
}
