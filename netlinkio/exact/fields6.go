package exact

import (
	"encoding/binary"
	"net/netip"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// What getsockopt, getsockname and getpeername report for an AF_INET6
// socket, from the fields the program reads, and the image's groups.

// hopLimit is IPV6_UNICAST_HOPS and IPV6_MULTICAST_HOPS as getsockopt
// reports them: the socket's own, or for -1 the cached route's
// (ip6_dst_hoplimit, which the program reads), else the namespace's
// net.ipv6.conf.all.hop_limit.
func hopLimit(r *record, own int16) int64 {
	switch {
	case own >= 0:
		return int64(own)
	case r.DstHopLimit >= 0:
		return int64(r.DstHopLimit)
	}
	return int64(r.AllHopLimit)
}

// IPV6_PREFER_SRC_* (include/uapi/linux/in6.h).
const (
	preferSrcTmp        = 0x0001
	preferSrcPublic     = 0x0002
	preferSrcPubtmpDflt = 0x0100
	preferSrcCoa        = 0x0004
	preferSrcHome       = 0x0400
)

// addrPreferences is getsockopt(IPV6_ADDR_PREFERENCES) of srcprefs: the
// temporary-or-public choice (the default when neither is set) and the
// care-of-or-home one.
func addrPreferences(p uint8) int64 {
	var v int64
	switch {
	case p&preferSrcTmp != 0:
		v = preferSrcTmp
	case p&preferSrcPublic != 0:
		v = preferSrcPublic
	default:
		v = preferSrcPubtmpDflt
	}
	if p&preferSrcCoa != 0 {
		return v | preferSrcCoa
	}
	return v | preferSrcHome
}

// Bits autoFlowLabel reads besides the table's.
const (
	autoFlowLabelSet = "inet_sock.inet_flags:INET_FLAGS_AUTOFLOWLABEL_SET"
	autoFlowLabelOn  = "inet_sock.inet_flags:INET_FLAGS_AUTOFLOWLABEL"
)

// autoFlowLabel is ip6_autoflowlabel: the socket's choice once it made
// one, else what net.ipv6.auto_flowlabels gives (1 "opt out" and 3
// "forced" are on, 0 "off" and 2 "opt in" off).
func autoFlowLabel(e *env, r *record) int64 {
	if e.bit(r, autoFlowLabelSet) {
		return b2i(e.bit(r, autoFlowLabelOn))
	}
	return b2i(r.AutoFlowlabels == 1 || r.AutoFlowlabels == 3)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// sndFlow is the bit of IPV6_FLOWINFO_SEND, which says whether
// getpeername reports the flow label.
const sndFlow = "inet_sock.inet_flags:INET_FLAGS_SNDFLOW"

// names6 is what getsockname and getpeername report for an AF_INET6
// socket (inet6_getname): the local address, or ipv6_pinfo's saddr while
// it is ::; no peer (ENOTCONN) without a peer port or for TCP in CLOSE or
// SYN_SENT; the flow label with IPV6_FLOWINFO_SEND; and a link-local
// address's scope, the bound device.
func (e *env) names6(r *record) (local, peer netip.AddrPort, flow uint32) {
	scope := uint32(r.SkBoundDevIf)
	a := netip.AddrFrom16(r.Local)
	if a.IsUnspecified() {
		a = netip.AddrFrom16(r.Saddr6)
	}
	local = netip.AddrPortFrom(image.WithScope(a, scope), r.LocalPort)
	peer = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	if r.PeerPort == 0 || r.Type == unix.SOCK_STREAM && (r.State == tcpClose || r.State == tcpSynSent) {
		return local, peer, 0
	}
	peer = netip.AddrPortFrom(image.WithScope(netip.AddrFrom16(r.Peer), scope), r.PeerPort)
	if e.bit(r, sndFlow) {
		flow = binary.BigEndian.Uint32(native.AppendUint32(nil, r.FlowLabel))
	}
	return local, peer, flow
}

// TCP states getpeername answers ENOTCONN in.
const (
	tcpSynSent = 2
	tcpClose   = 7
)

// memberships is the record's groups: the IPv4 ones in join order (the
// kernel's inet->mc_list, newest first, reversed), each with its
// interface address, then the IPv6 ones in join order likewise
// (ipv6_pinfo->ipv6_mc_list reversed), as IPOPT_MEMBERSHIP_ORDER and
// IP6OPT_MEMBERSHIP_ORDER say.
func memberships(r *record) []image.Membership {
	var v4, v6 []image.Membership
	for i := len(r.mc) - 1; i >= 0; i-- {
		m := r.mc[i]
		e := image.Membership{Group: m.group, Address: m.address, Ifindex: m.ifindex, Mode: m.mode, Sources: m.sources}
		if m.group.Is6() {
			v6 = append(v6, e)
		} else {
			v4 = append(v4, e)
		}
	}
	return append(v4, v6...)
}
