// Package sockdiag lists the AF_INET and AF_INET6 sockets of a network
// namespace with NETLINK_SOCK_DIAG (and /proc/net/raw and raw6 where the
// kernel has no raw_diag),
// and shares one listing among concurrent callers (Shared).
package sockdiag

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// native is the host byte order of netlink messages.
var native = binary.NativeEndian

// Sizes and ids of NETLINK_SOCK_DIAG's inet messages (linux/inet_diag.h).
const (
	sockDiagByFamily  = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagReqV2Len  = 56 // struct inet_diag_req_v2
	inetDiagMsgLen    = 72 // struct inet_diag_msg
	inetDiagProtocol  = 10 // INET_DIAG_PROTOCOL, the raw protocol of a RAW socket
	allStates         = 0xffffffff
	rawAllProtocols   = unix.IPPROTO_RAW // sdiag_raw_protocol IPPROTO_RAW: every raw socket
	ipprotoUDPLite    = unix.IPPROTO_UDPLITE
	diagNoSuchHandler = syscall.ENOENT // a kernel without that protocol's diag module
)

// diagProtocols are the sdiag_protocol values of one listing, with the
// socket type each lists.
var diagProtocols = []struct {
	proto uint8
	typ   uint16
}{
	{unix.IPPROTO_UDP, unix.SOCK_DGRAM},
	{ipprotoUDPLite, unix.SOCK_DGRAM},
	{unix.IPPROTO_TCP, unix.SOCK_STREAM},
	{unix.IPPROTO_RAW, unix.SOCK_RAW},
}

// diagFamilies are the address families of one listing.
var diagFamilies = []uint8{unix.AF_INET, unix.AF_INET6}

// List asks sock_diag for every AF_INET and AF_INET6 socket of the
// caller's network namespace: one dump request per family and protocol on
// one socket, each reply parsed where it was received, and one sort of the
// whole, since the kernel dumps each protocol in its hash tables' order,
// not by inode.
func List() ([]image.Socket, error) {
	c, err := dialDiag()
	if err != nil {
		return nil, &image.OpError{Op: "list", Err: err}
	}
	defer c.close()
	return listOn(c, readProcNetRaw)
}

// listOn is List on the sock_diag socket c, whose network namespace is the
// one listed; raw reads that namespace's /proc/net/raw.
func listOn(c *diagConn, raw func(family uint8) ([]byte, error)) ([]image.Socket, error) {
	var l socketList
	for _, family := range diagFamilies {
		if err := listFamily(c, family, &l, raw); err != nil {
			return nil, &image.OpError{Op: "list", Err: err}
		}
	}
	return l.sorted(), nil
}

// listFamily adds the sockets of one family to l.
func listFamily(c *diagConn, family uint8, l *socketList, raw func(family uint8) ([]byte, error)) error {
	for _, p := range diagProtocols {
		err := c.dump(family, p.proto, func(msg []byte) {
			if s, ok := parseDiagMsg(msg, p.proto, p.typ); ok {
				l.add(s)
			}
		})
		if errors.Is(err, diagNoSuchHandler) && p.proto == unix.IPPROTO_RAW {
			// A kernel built without raw_diag (as this project's CI
			// kernel is) still lists raw sockets in /proc/net/raw, as ss
			// falls back to doing. The kernel refuses the request before
			// it dumps anything, so nothing of RAW was added.
			var text []byte
			if text, err = raw(family); err == nil {
				for _, s := range parseProcNetRaw(text, family) {
					l.add(s)
				}
			}
		} else if errors.Is(err, diagNoSuchHandler) && p.proto == ipprotoUDPLite {
			continue // built without UDP-Lite
		} else if errors.Is(err, diagNoSuchHandler) && family == unix.AF_INET6 && p.proto == unix.IPPROTO_UDP {
			return nil // a kernel without IPv6 has no AF_INET6 handler at all
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// socketList collects a listing in chunks of socketChunk, so that growing
// it never copies what it holds, with an inode<<32|index key per socket to
// sort by. A image.Socket holds a pointer (netip.Addr's zone): sorting Sockets in
// place pays a write barrier per swap while the collector runs (22% of a
// listing at 10,000 sockets), and growing one slice of them by appending
// allocates about five times the listing; sorting the keys and gathering
// once into a slice of the exact size costs a fraction of either.
type socketList struct {
	chunks [][]image.Socket
	keys   []uint64
	wide   bool // an inode above 32 bits (sockfs's are not): sort the slow way
}

const socketChunk = 1024

func (l *socketList) add(s image.Socket) {
	if n := len(l.chunks); n == 0 || len(l.chunks[n-1]) == socketChunk {
		l.chunks = append(l.chunks, make([]image.Socket, 0, socketChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, s)
	l.wide = l.wide || s.Inode > math.MaxUint32
	l.keys = append(l.keys, s.Inode<<32|uint64(len(l.keys)))
}

// sorted returns the sockets sorted by inode, in the order added among
// equal inodes.
func (l *socketList) sorted() []image.Socket {
	out := make([]image.Socket, 0, len(l.keys))
	if l.wide {
		for _, c := range l.chunks {
			out = append(out, c...)
		}
		slices.SortStableFunc(out, func(a, b image.Socket) int { return cmp.Compare(a.Inode, b.Inode) })
		return out
	}
	slices.Sort(l.keys)
	for _, k := range l.keys {
		i := int(uint32(k))
		out = append(out, l.chunks[i/socketChunk][i%socketChunk])
	}
	return out
}

// parseDiagMsg reads a struct inet_diag_msg of either family and, for RAW
// sockets, the INET_DIAG_PROTOCOL attribute that follows it. An AF_INET6
// socket's addresses are 16 bytes, and a link-local one takes the bound
// interface (idiag_if) as its zone, as getsockname gives its scope id.
func parseDiagMsg(b []byte, proto uint8, typ uint16) (image.Socket, bool) {
	if len(b) < inetDiagMsgLen || b[0] != unix.AF_INET && b[0] != unix.AF_INET6 {
		return image.Socket{}, false
	}
	s := image.Socket{
		Family:   uint16(b[0]),
		Type:     typ,
		Protocol: uint16(proto),
		State:    b[1],
		UID:      native.Uint32(b[64:]),
		Inode:    uint64(native.Uint32(b[68:])),
	}
	sport, dport := uint16(b[4])<<8|uint16(b[5]), uint16(b[6])<<8|uint16(b[7])
	if s.Family == unix.AF_INET {
		s.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[8:12])), sport)
		s.Peer = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[24:28])), dport)
	} else {
		scope := native.Uint32(b[40:])
		s.Local = netip.AddrPortFrom(image.WithScope(netip.AddrFrom16([16]byte(b[8:24])), scope), sport)
		s.Peer = netip.AddrPortFrom(image.WithScope(netip.AddrFrom16([16]byte(b[24:40])), scope), dport)
	}
	if proto == unix.IPPROTO_RAW && len(b) > inetDiagMsgLen {
		attrs, err := image.ParseAttrs(b[inetDiagMsgLen:], "inet_diag_msg")
		if err != nil {
			return image.Socket{}, false
		}
		for _, a := range attrs {
			if a.Type == inetDiagProtocol && len(a.Data) >= 1 {
				s.Protocol = uint16(a.Data[0])
			}
		}
		// A raw socket's "port" is its protocol; sock_diag shows it as 0.
		s.Local = netip.AddrPortFrom(s.Local.Addr(), s.Protocol)
	}
	return s, s.Inode != 0
}

// procNetRaw reads /proc/net/raw (raw6 for AF_INET6), whose lines are
// "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...", addresses
// as host-order hex of each __be32 and the raw protocol as the local port.
func readProcNetRaw(family uint8) ([]byte, error) {
	path := "/proc/net/raw"
	if family == unix.AF_INET6 {
		path += "6"
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && family == unix.AF_INET6 {
		return nil, nil // no IPv6
	}
	return b, err
}

func parseProcNetRaw(b []byte, family uint8) []image.Socket {
	var out []image.Socket
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		local, ok1 := parseProcAddr(f[1])
		peer, ok2 := parseProcAddr(f[2])
		state, err1 := strconv.ParseUint(f[3], 16, 8)
		uid, err2 := strconv.ParseUint(f[7], 10, 32)
		ino, err3 := strconv.ParseUint(f[9], 10, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil || ino == 0 {
			continue
		}
		out = append(out, image.Socket{Inode: ino, Family: uint16(family), Type: unix.SOCK_RAW, Protocol: local.Port(), State: uint8(state), Local: local, Peer: peer, UID: uint32(uid)})
	}
	return out
}

func parseProcAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil || len(a)%8 != 0 || len(a) == 0 || len(a) > 32 {
		return netip.AddrPort{}, false
	}
	var raw []byte
	for i := 0; i < len(a); i += 8 {
		w, err := strconv.ParseUint(a[i:i+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		raw = native.AppendUint32(raw, uint32(w))
	}
	addr, ok := netip.AddrFromSlice(raw)
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr, uint16(port)), true
}
