package image_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// malformedCase is an image that a reader must refuse, and the attribute the
// refusal must name (as image.AttrName spells it, or "image" for faults
// of the stream as a whole).
type malformedCase struct {
	name  string
	image []byte
	attr  string
}

// This file is self-contained: malformedImages and the mf* helpers below
// depend on nothing else in the package's tests, so engine tests can reuse
// the table (restore each image onto a live socket, check it is unchanged).

var mfNative = binary.NativeEndian

const (
	mfFNested    = 0x8000 // NLA_F_NESTED
	mfFByteOrder = 0x4000 // NLA_F_NET_BYTEORDER
	mfTypeMask   = 0x3fff
)

// mfAttr is one raw netlink attribute: the header's type field, flags
// included, and the payload.
type mfAttr struct {
	typ  uint16
	data []byte
}

// mfSplit splits a well-formed attribute stream.
func mfSplit(t testing.TB, b []byte) []mfAttr {
	t.Helper()
	var out []mfAttr
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("mfSplit: %d trailing bytes", len(b))
		}
		n := int(mfNative.Uint16(b))
		if n < 4 || n > len(b) {
			t.Fatalf("mfSplit: bad nla_len %d with %d bytes left", n, len(b))
		}
		out = append(out, mfAttr{typ: mfNative.Uint16(b[2:]), data: slices.Clone(b[4:n])})
		adv := min((n+3)&^3, len(b))
		b = b[adv:]
	}
	return out
}

// mfPut appends one attribute with its padding.
func mfPut(b []byte, typ uint16, data []byte) []byte {
	b = mfNative.AppendUint16(b, uint16(4+len(data)))
	b = mfNative.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func mfJoin(attrs []mfAttr) []byte {
	b := []byte{}
	for _, a := range attrs {
		b = mfPut(b, a.typ, a.data)
	}
	return b
}

func mfIndex(t testing.TB, attrs []mfAttr, id uint16) int {
	t.Helper()
	for i, a := range attrs {
		if a.typ&mfTypeMask == id {
			return i
		}
	}
	t.Fatalf("attribute %d (%s) not in the image", id, image.AttrName(id))
	return -1
}

func mfU16(v uint16) []byte { return mfNative.AppendUint16(nil, v) }
func mfU32(v uint32) []byte { return mfNative.AppendUint32(nil, v) }
func mfU64(v uint64) []byte { return mfNative.AppendUint64(nil, v) }

// mfIP is an address's four bytes, network order.
func mfIP(s string) []byte {
	a := netip.MustParseAddr(s).As4()
	return a[:]
}

// mfMreqn is a struct ip_mreqn.
func mfMreqn(group, address string, ifindex int32) []byte {
	b := append(mfIP(group), mfIP(address)...)
	return mfNative.AppendUint32(b, uint32(ifindex))
}

// mfSockaddr is a struct sockaddr_in: sin_family in host order, the port and
// address in network order, eight bytes of sin_zero.
func mfSockaddr(family uint16, addr string, port uint16) []byte {
	b := mfNative.AppendUint16(nil, family)
	b = binary.BigEndian.AppendUint16(b, port)
	b = append(b, mfIP(addr)...)
	return append(b, make([]byte, 8)...)
}

// mfID is the attribute id of an option row, by its path ("ipopt/ttl").
func mfID(t testing.TB, path string) uint16 {
	t.Helper()
	dir, name, _ := strings.Cut(path, "/")
	o, ok := image.LookupOption(dir, name)
	if !ok {
		t.Fatalf("no option %s", path)
	}
	return o.Attr
}

// mfValues gives every option that applies to typ a valid value other than
// its default: flags on, integers mid-range, a bound device, IP options.
func mfValues(typ uint16) map[uint16]image.Value {
	clamp := func(v uint64, o *image.Option) uint64 { return max(o.Min, min(v, o.Max)) }
	vals := map[uint16]image.Value{}
	for _, o := range image.OptionsFor(unix.AF_INET, typ) {
		var v image.Value
		switch o.Kind {
		case image.Flag, image.BufLock:
			v.Num = 1
		case image.U8:
			v.Num = clamp(64, o)
		case image.U32, image.MSS:
			v.Num = clamp(3, o)
		case image.IfIndexBE:
			v.Num = 1
		case image.BufSize:
			v.Num = 212992
		case image.Micros:
			v.Num = 2500000
		case image.Linger:
			v.Num, v.Num2 = 1, 10
		case image.IfName:
			v.Bytes = []byte("lo")
		case image.InAddr:
			v.Bytes = mfIP("127.0.0.1")
		case image.RawOptions:
			v.Bytes = []byte{0x94, 0x04, 0x00, 0x00} // router alert
		case image.U64:
			v.Num = 1 << 40
		case image.S32:
			v.Num = 3
		case image.Name:
			v.Bytes = []byte("reno")
		case image.Filter:
			v.Bytes = []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff} // ret #-1
		case image.Tstamp:
			v.Num = 2
		case image.TstampNew:
			v.Num = 1
		case image.Timestamping:
			v.Num = 26
		case image.TxTime:
			v.Num, v.Num2 = 1, 2
		}
		vals[o.Attr] = v
	}
	return vals
}

// mfBases returns three valid images: a connected UDP socket with three
// memberships, two of them with a source filter; a listening TCP socket; a
// RAW ICMP socket with IP_HDRINCL on. It fails the test if one of them does
// not decode, so that each case below has exactly the fault it names.
func mfBases(t testing.TB) (udp, tcp, raw []byte) {
	t.Helper()
	u := &image.Image{
		Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 1,
		Local:    netip.MustParseAddrPort("127.0.0.1:5000"),
		Peer:     netip.MustParseAddrPort("127.0.0.2:6000"),
		Values:   mfValues(unix.SOCK_DGRAM),
		Revision: 1, // as images made before table revisions: ends with its lists
		Memberships: []image.Membership{
			{Group: netip.MustParseAddr("224.0.0.251"), Address: netip.IPv4Unspecified(), Ifindex: 2,
				Mode: image.ModeExclude, Sources: []netip.Addr{netip.MustParseAddr("192.168.0.9")}},
			{Group: netip.MustParseAddr("239.2.2.2"), Address: netip.IPv4Unspecified(), Ifindex: 1,
				Mode: image.ModeInclude, Sources: []netip.Addr{netip.MustParseAddr("10.0.0.6"), netip.MustParseAddr("10.0.0.5")}},
			{Group: netip.MustParseAddr("239.1.1.1"), Address: netip.IPv4Unspecified(), Ifindex: 1},
		},
	}
	tc := &image.Image{
		Family: unix.AF_INET, Type: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP, State: 10,
		Local:    netip.MustParseAddrPort("0.0.0.0:8080"),
		Peer:     netip.MustParseAddrPort("0.0.0.0:0"),
		Values:   mfValues(unix.SOCK_STREAM),
		Revision: 1,
	}
	r := &image.Image{
		Family: unix.AF_INET, Type: unix.SOCK_RAW, Protocol: unix.IPPROTO_ICMP, State: 7,
		Local:       netip.MustParseAddrPort("127.0.0.1:0"),
		Peer:        netip.MustParseAddrPort("0.0.0.0:0"),
		Values:      mfValues(unix.SOCK_RAW),
		Revision:    1,
		Memberships: []image.Membership{{Group: netip.MustParseAddr("239.9.9.9"), Address: netip.IPv4Unspecified(), Ifindex: 1}},
	}
	for _, img := range []*image.Image{u, tc, r} {
		if _, err := image.Decode(img.Encode()); err != nil {
			t.Fatalf("base image of type %d does not decode: %v", img.Type, err)
		}
	}
	return u.Encode(), tc.Encode(), r.Encode()
}

// malformedImages returns images that break one rule each of the format
// (docs/image-format.md), made by hand-editing valid images.
func malformedImages(t testing.TB) []malformedCase {
	t.Helper()
	udp, tcp, raw := mfBases(t)

	const (
		version  = image.AttrVersion
		family   = image.AttrFamily
		typ      = image.AttrType
		protocol = image.AttrProtocol
		state    = image.AttrState
		local    = image.AttrLocal
		peer     = image.AttrPeer
		mship    = image.AttrMembership
		mreq     = image.AttrMreq
		filters  = image.AttrSourceFilters
		filter   = image.AttrSourceFilter
		msfMreq  = image.AttrMsfMreq
		msfMode  = image.AttrMsfMode
		msfSrc   = image.AttrMsfSource
	)
	var (
		reuseaddr   = mfID(t, "sockopt/reuseaddr")
		priority    = mfID(t, "sockopt/priority")
		rcvlowat    = mfID(t, "sockopt/rcvlowat")
		sndbuf      = mfID(t, "sockopt/sndbuf")
		rcvbuf      = mfID(t, "sockopt/rcvbuf")
		sndbufLock  = mfID(t, "sockopt/sndbuf_ulock")
		rcvtimeo    = mfID(t, "sockopt/rcvtimeo")
		linger      = mfID(t, "sockopt/linger")
		bindtodev   = mfID(t, "sockopt/bindtodevice")
		ipOptions   = mfID(t, "ipopt/options")
		pktinfo     = mfID(t, "ipopt/pktinfo")
		ttl         = mfID(t, "ipopt/ttl")
		hdrincl     = mfID(t, "ipopt/hdrincl")
		mtuDiscover = mfID(t, "ipopt/mtu_discover")
		routerAlert = mfID(t, "ipopt/router_alert")
		mcastTTL    = mfID(t, "ipopt/multicast_ttl")
		mcastIf     = mfID(t, "ipopt/multicast_if")
		unicastIf   = mfID(t, "ipopt/unicast_if")
	)

	// edit hand-edits the top-level attribute list of an image.
	edit := func(base []byte, f func(a []mfAttr) []mfAttr) []byte {
		return mfJoin(f(mfSplit(t, base)))
	}
	set := func(base []byte, id uint16, data []byte) []byte {
		return edit(base, func(a []mfAttr) []mfAttr {
			a[mfIndex(t, a, id)].data = data
			return a
		})
	}
	drop := func(base []byte, id uint16) []byte {
		return edit(base, func(a []mfAttr) []mfAttr {
			return slices.Delete(a, mfIndex(t, a, id), mfIndex(t, a, id)+1)
		})
	}
	add := func(base []byte, typ uint16, data []byte) []byte {
		return edit(base, func(a []mfAttr) []mfAttr { return append(a, mfAttr{typ, data}) })
	}
	flags := func(base []byte, id, set, clear uint16) []byte {
		return edit(base, func(a []mfAttr) []mfAttr {
			i := mfIndex(t, a, id)
			a[i].typ = a[i].typ&^clear | set
			return a
		})
	}
	// header rewrites the raw nla_len of an attribute.
	header := func(base []byte, id uint16, nlaLen uint16) []byte {
		a := mfSplit(t, base)
		i := mfIndex(t, a, id)
		off := len(mfJoin(a[:i]))
		b := slices.Clone(base)
		mfNative.PutUint16(b[off:], nlaLen)
		return b
	}
	// nested hand-edits the entries of a nested attribute.
	nested := func(base []byte, id uint16, f func(e []mfAttr) []mfAttr) []byte {
		return edit(base, func(a []mfAttr) []mfAttr {
			i := mfIndex(t, a, id)
			a[i].data = mfJoin(f(mfSplit(t, a[i].data)))
			return a
		})
	}
	// inFilter hand-edits the parts of the k-th source filter entry.
	inFilter := func(base []byte, k int, f func(p []mfAttr) []mfAttr) []byte {
		return nested(base, filters, func(e []mfAttr) []mfAttr {
			e[k].data = mfJoin(f(mfSplit(t, e[k].data)))
			return e
		})
	}
	nMreq := func(group string, ifindex int32) mfAttr {
		return mfAttr{mreq, mfMreqn(group, "0.0.0.0", ifindex)}
	}
	// The UDP base's second filter entry is 224.0.0.251 on ifindex 2,
	// EXCLUDE 192.168.0.9; its first is 239.2.2.2 on 1, INCLUDE 2 sources.
	filterEntry := func(group string, ifindex int32, mode uint32, sources ...string) mfAttr {
		p := mfPut(nil, msfMreq, mfMreqn(group, "0.0.0.0", ifindex))
		p = mfPut(p, msfMode, mfU32(mode))
		for _, s := range sources {
			p = mfPut(p, msfSrc, mfIP(s))
		}
		return mfAttr{filter | mfFNested, p}
	}
	manyGroups := func(n int) []mfAttr {
		var e []mfAttr
		for i := range n {
			e = append(e, nMreq(netip.AddrFrom4([4]byte{239, 0, byte(i >> 8), byte(i)}).String(), 1))
		}
		return e
	}
	manySources := func(n int) []string {
		var s []string
		for i := range n {
			s = append(s, netip.AddrFrom4([4]byte{10, 9, byte((i + 1) >> 8), byte(i + 1)}).String())
		}
		return s
	}
	sockaddrZero := func(addr string, port uint16) []byte {
		b := mfSockaddr(unix.AF_INET, addr, port)
		b[15] = 1
		return b
	}

	cases := []malformedCase{
		// The stream as a whole.
		{"empty image", []byte{}, "VERSION"},
		{"too large", append(slices.Clone(udp), make([]byte, image.MaxImageSize)...), "image"},
		{"truncated header", udp[:2], "image"},
		{"truncated header after VERSION", udp[:10], "image"},
		{"trailing bytes", append(slices.Clone(udp), 0, 0, 0), "image"},
		{"trailing byte on TCP", append(slices.Clone(tcp), 1), "image"},
		{"nla_len 2", header(udp, family, 2), "FAMILY"},
		{"nla_len 0", header(tcp, ttl, 0), "IPOPT_TTL"},
		{"nla_len past end", header(udp, ttl, 0x4000), "IPOPT_TTL"},
		{"cut in last attribute", udp[:len(udp)-4], lastAttrName(t, udp)},
		{"padding missing at end", func() []byte {
			b := edit(tcp, func(a []mfAttr) []mfAttr {
				i := mfIndex(t, a, ttl)
				last := a[i]
				return append(slices.Delete(a, i, i+1), last)
			})
			return b[:len(b)-3]
		}(), "IPOPT_TTL"},

		// VERSION.
		{"VERSION not first", edit(udp, func(a []mfAttr) []mfAttr { a[0], a[1] = a[1], a[0]; return a }), "VERSION"},
		{"VERSION missing", drop(udp, version), "VERSION"},
		{"VERSION length 2", set(udp, version, mfU16(1)), "VERSION"},
		{"VERSION length 8", set(tcp, version, mfU64(1)), "VERSION"},
		{"VERSION 2", set(udp, version, mfU32(2)), "VERSION"},
		{"VERSION 0", set(raw, version, mfU32(0)), "VERSION"},
		{"VERSION repeated", add(udp, version, mfU32(1)), "VERSION"},

		// Ids and flags of the header.
		{"unknown id 169", add(udp, 169, mfU32(0)), "attribute 169"},
		{"unknown id 307", add(tcp, 307, nil), "attribute 307"},
		{"unknown id 0", add(udp, 0, mfU32(0)), "attribute 0"},
		{"unknown id 0x3fff", add(raw, 0x3fff, nil), "attribute 16383"},
		{"MREQ at the top", add(udp, mreq, mfMreqn("239.3.3.3", "0.0.0.0", 1)), "IPOPT_MREQ"},
		{"MSF_SOURCE at the top", add(udp, msfSrc, mfIP("10.0.0.1")), "IPOPT_MSF_SOURCE"},
		{"repeated u8", add(udp, ttl, []byte{64}), "IPOPT_TTL"},
		{"repeated flag", add(tcp, reuseaddr, nil), "SOCKOPT_REUSEADDR"},
		{"repeated membership list", add(udp, mship|mfFNested, nil), "IPOPT_MEMBERSHIP"},
		{"INODE in an image", add(udp, image.AttrInode, mfU64(12345)), "INODE"},
		{"NLA_F_NET_BYTEORDER on u8", flags(udp, ttl, mfFByteOrder, 0), "IPOPT_TTL"},
		{"NLA_F_NET_BYTEORDER on LOCAL", flags(tcp, local, mfFByteOrder, 0), "LOCAL"},
		{"NLA_F_NET_BYTEORDER on the membership list", flags(udp, mship, mfFByteOrder, 0), "IPOPT_MEMBERSHIP"},
		{"NLA_F_NESTED on u8", flags(udp, ttl, mfFNested, 0), "IPOPT_TTL"},
		{"NLA_F_NESTED on FAMILY", flags(raw, family, mfFNested, 0), "FAMILY"},
		{"NLA_F_NESTED on a flag", flags(tcp, reuseaddr, mfFNested, 0), "SOCKOPT_REUSEADDR"},
		{"membership list not nested", flags(udp, mship, 0, mfFNested), "IPOPT_MEMBERSHIP"},
		{"source filters not nested", flags(udp, filters, 0, mfFNested), "IPOPT_SOURCE_FILTERS"},

		// Identity.
		{"FAMILY AF_INET6 with a sockaddr_in", set(udp, family, mfU16(unix.AF_INET6)), "LOCAL"},
		{"FAMILY AF_UNIX", set(udp, family, mfU16(unix.AF_UNIX)), "FAMILY"},
		{"FAMILY 0", set(tcp, family, mfU16(0)), "FAMILY"},
		{"FAMILY length 4", set(udp, family, mfU32(unix.AF_INET)), "FAMILY"},
		{"TYPE SOCK_SEQPACKET", set(udp, typ, mfU16(unix.SOCK_SEQPACKET)), "TYPE"},
		{"TYPE 0", set(tcp, typ, mfU16(0)), "TYPE"},
		{"TYPE length 1", set(udp, typ, []byte{unix.SOCK_DGRAM}), "TYPE"},
		{"PROTOCOL TCP on SOCK_DGRAM", set(udp, protocol, mfU16(unix.IPPROTO_TCP)), "PROTOCOL"},
		{"PROTOCOL UDP on SOCK_STREAM", set(tcp, protocol, mfU16(unix.IPPROTO_UDP)), "PROTOCOL"},
		{"PROTOCOL 0 on SOCK_RAW", set(raw, protocol, mfU16(0)), "PROTOCOL"},
		{"PROTOCOL 256 on SOCK_RAW", set(raw, protocol, mfU16(256)), "PROTOCOL"},
		{"PROTOCOL length 4", set(tcp, protocol, mfU32(unix.IPPROTO_TCP)), "PROTOCOL"},
		{"STATE 0", set(tcp, state, []byte{0}), "STATE"},
		{"STATE 13", set(tcp, state, []byte{13}), "STATE"},
		{"STATE 255", set(udp, state, []byte{255}), "STATE"},
		{"STATE LISTEN on UDP", set(udp, state, []byte{10}), "STATE"},
		{"STATE SYN_SENT on RAW", set(raw, state, []byte{2}), "STATE"},
		{"STATE length 4", set(tcp, state, mfU32(10)), "STATE"},
		{"STATE ESTABLISHED without PEER", set(udp, peer, mfSockaddr(unix.AF_INET, "0.0.0.0", 0)), "PEER"},
		{"STATE CLOSE with a PEER", set(udp, state, []byte{7}), "PEER"},
		{"RAW ESTABLISHED without PEER", set(raw, state, []byte{1}), "PEER"},
		{"connected UDP PEER without port", set(udp, peer, mfSockaddr(unix.AF_INET, "127.0.0.2", 0)), "PEER"},

		// Addresses.
		{"LOCAL length 8", set(udp, local, mfSockaddr(unix.AF_INET, "127.0.0.1", 5000)[:8]), "LOCAL"},
		{"LOCAL length 28", set(tcp, local, make([]byte, 28)), "LOCAL"},
		{"PEER length 0", set(udp, peer, nil), "PEER"},
		{"LOCAL sin_family AF_INET6", set(udp, local, mfSockaddr(unix.AF_INET6, "127.0.0.1", 5000)), "LOCAL"},
		{"PEER sin_family 0", set(tcp, peer, mfSockaddr(0, "0.0.0.0", 0)), "PEER"},
		{"LOCAL sin_zero", set(udp, local, sockaddrZero("127.0.0.1", 5000)), "LOCAL"},
		{"PEER sin_zero", set(udp, peer, sockaddrZero("127.0.0.2", 6000)), "PEER"},

		// Required attributes.
		{"FAMILY missing", drop(udp, family), "FAMILY"},
		{"TYPE missing", drop(tcp, typ), "TYPE"},
		{"PROTOCOL missing", drop(raw, protocol), "PROTOCOL"},
		{"STATE missing", drop(udp, state), "STATE"},
		{"LOCAL missing", drop(udp, local), "LOCAL"},
		{"PEER missing", drop(tcp, peer), "PEER"},
		{"u8 missing", drop(udp, ttl), "IPOPT_TTL"},
		{"u32 missing", drop(tcp, priority), "SOCKOPT_PRIORITY"},
		{"buffer size missing", drop(raw, sndbuf), "SOCKOPT_SNDBUF"},
		{"timeout missing", drop(udp, rcvtimeo), "SOCKOPT_RCVTIMEO"},
		{"linger missing", drop(tcp, linger), "SOCKOPT_LINGER"},
		{"bindtodevice missing", drop(udp, bindtodev), "SOCKOPT_BINDTODEVICE"},
		{"IP options missing", drop(raw, ipOptions), "IPOPT_OPTIONS"},
		{"multicast_if missing", drop(udp, mcastIf), "IPOPT_MULTICAST_IF"},
		{"membership list missing on UDP", drop(udp, mship), "IPOPT_MEMBERSHIP"},
		{"membership list missing on RAW", drop(raw, mship), "IPOPT_MEMBERSHIP"},

		// Payload lengths.
		{"u8 of 4 bytes", set(udp, ttl, mfU32(64)), "IPOPT_TTL"},
		{"u8 of 0 bytes", set(tcp, ttl, nil), "IPOPT_TTL"},
		{"u32 of 2 bytes", set(udp, priority, mfU16(3)), "SOCKOPT_PRIORITY"},
		{"u32 of 8 bytes", set(tcp, rcvlowat, mfU64(3)), "SOCKOPT_RCVLOWAT"},
		{"buffer size of 8 bytes", set(udp, rcvbuf, mfU64(212992)), "SOCKOPT_RCVBUF"},
		{"u64 of 4 bytes", set(udp, rcvtimeo, mfU32(2500000)), "SOCKOPT_RCVTIMEO"},
		{"flag with a payload", set(tcp, reuseaddr, mfU32(1)), "SOCKOPT_REUSEADDR"},
		{"buffer lock with a payload", set(udp, sndbufLock, []byte{1}), "SOCKOPT_SNDBUF_ULOCK"},
		{"linger of 4 bytes", set(udp, linger, mfU32(1)), "SOCKOPT_LINGER"},
		{"linger of 16 bytes", set(tcp, linger, append(mfU64(1), mfU64(10)...)), "SOCKOPT_LINGER"},
		{"in_addr of 0 bytes", set(udp, mcastIf, nil), "IPOPT_MULTICAST_IF"},
		{"in_addr of 12 bytes (ip_mreqn)", set(raw, mcastIf, mfMreqn("0.0.0.0", "127.0.0.1", 1)), "IPOPT_MULTICAST_IF"},
		{"unicast_if of 1 byte", set(udp, unicastIf, []byte{1}), "IPOPT_UNICAST_IF"},

		// Values out of range.
		{"ttl 0", set(udp, ttl, []byte{0}), "IPOPT_TTL"},
		{"mtu_discover 9", set(tcp, mtuDiscover, []byte{9}), "IPOPT_MTU_DISCOVER"},
		{"mtu_discover 6", set(udp, mtuDiscover, []byte{6}), "IPOPT_MTU_DISCOVER"},
		{"rcvlowat 0", set(udp, rcvlowat, mfU32(0)), "SOCKOPT_RCVLOWAT"},
		{"rcvlowat 2^31", set(tcp, rcvlowat, mfU32(1<<31)), "SOCKOPT_RCVLOWAT"},
		{"odd sndbuf", set(udp, sndbuf, mfU32(212993)), "SOCKOPT_SNDBUF"},
		{"rcvbuf 0", set(tcp, rcvbuf, mfU32(0)), "SOCKOPT_RCVBUF"},
		{"sndbuf 2^32-2", set(raw, sndbuf, mfU32(1<<32-2)), "SOCKOPT_SNDBUF"},
		{"linger onoff 2", set(udp, linger, append(mfU32(2), mfU32(10)...)), "SOCKOPT_LINGER"},
		// linger seconds 2^31 and up: the kernel keeps l_linger unsigned, so they are valid.
		{"rcvtimeo 2^63", set(udp, rcvtimeo, mfU64(1<<63)), "SOCKOPT_RCVTIMEO"},
		{"unicast_if 2^31", set(udp, unicastIf, mfU32(1<<31)), "IPOPT_UNICAST_IF"},

		// Options that do not apply to the socket's type.
		{"pktinfo on TCP", add(tcp, pktinfo, nil), "IPOPT_PKTINFO"},
		{"multicast_ttl on TCP", add(tcp, mcastTTL, []byte{1}), "IPOPT_MULTICAST_TTL"},
		{"multicast_if on TCP", add(tcp, mcastIf, mfIP("0.0.0.0")), "IPOPT_MULTICAST_IF"},
		{"hdrincl on UDP", add(udp, hdrincl, nil), "IPOPT_HDRINCL"},
		{"router_alert on TCP", add(tcp, routerAlert, nil), "IPOPT_ROUTER_ALERT"},
		{"membership list on TCP", add(tcp, mship|mfFNested, nil), "IPOPT_MEMBERSHIP"},
		{"source filters on TCP", add(tcp, filters|mfFNested, mfPut(nil, filter|mfFNested, nil)), "IPOPT_SOURCE_FILTERS"},

		// IP options and the bound device.
		{"IP options of 44 bytes", set(udp, ipOptions, make([]byte, 44)), "IPOPT_OPTIONS"},
		{"IP options of 6 bytes", set(tcp, ipOptions, []byte{0x94, 0x04, 0, 0, 1, 1}), "IPOPT_OPTIONS"},
		{"IP options of 1 byte", set(raw, ipOptions, []byte{1}), "IPOPT_OPTIONS"},
		{"bindtodevice of 16 bytes", set(udp, bindtodev, []byte("abcdefghijklmnop")), "SOCKOPT_BINDTODEVICE"},
		{"bindtodevice with NUL", set(tcp, bindtodev, []byte("lo\x00")), "SOCKOPT_BINDTODEVICE"},
		{"bindtodevice with slash", set(udp, bindtodev, []byte("a/b")), "SOCKOPT_BINDTODEVICE"},
		{"bindtodevice with space", set(raw, bindtodev, []byte("eth 0")), "SOCKOPT_BINDTODEVICE"},

		// The membership list.
		{"membership list holds MSF_MODE", nested(udp, mship, func(e []mfAttr) []mfAttr {
			return append(e, mfAttr{msfMode, mfU32(1)})
		}), "IPOPT_MEMBERSHIP"},
		{"membership list holds an unknown id", nested(raw, mship, func(e []mfAttr) []mfAttr {
			return append(e, mfAttr{99, mfMreqn("239.3.3.3", "0.0.0.0", 1)})
		}), "IPOPT_MEMBERSHIP"},
		{"membership list holds a nested MREQ", nested(udp, mship, func(e []mfAttr) []mfAttr {
			e[0].typ |= mfFNested
			return e
		}), "IPOPT_MREQ"},
		{"membership list trailing bytes", edit(udp, func(a []mfAttr) []mfAttr {
			i := mfIndex(t, a, mship)
			a[i].data = append(a[i].data, 0, 0)
			return a
		}), "IPOPT_MEMBERSHIP"},
		{"MREQ of 8 bytes (ip_mreq)", nested(udp, mship, func(e []mfAttr) []mfAttr {
			e[1].data = e[1].data[:8]
			return e
		}), "IPOPT_MREQ"},
		{"MREQ of 16 bytes", nested(raw, mship, func(e []mfAttr) []mfAttr {
			e[0].data = append(e[0].data, 0, 0, 0, 0)
			return e
		}), "IPOPT_MREQ"},
		{"MREQ NLA_F_NET_BYTEORDER", nested(udp, mship, func(e []mfAttr) []mfAttr {
			e[0].typ |= mfFByteOrder
			return e
		}), "IPOPT_MREQ"},
		{"group unicast", nested(udp, mship, func(e []mfAttr) []mfAttr {
			return append(e, nMreq("10.1.2.3", 1))
		}), "IPOPT_MREQ"},
		{"group 0.0.0.0", nested(raw, mship, func(e []mfAttr) []mfAttr {
			return append(e, nMreq("0.0.0.0", 1))
		}), "IPOPT_MREQ"},
		{"group broadcast", nested(udp, mship, func(e []mfAttr) []mfAttr {
			return append(e, nMreq("255.255.255.255", 1))
		}), "IPOPT_MREQ"},
		{"ifindex 0", nested(udp, mship, func(e []mfAttr) []mfAttr {
			return append(e, nMreq("239.3.3.3", 0))
		}), "IPOPT_MREQ"},
		{"ifindex -1", nested(raw, mship, func(e []mfAttr) []mfAttr {
			return append(e, nMreq("239.3.3.3", -1))
		}), "IPOPT_MREQ"},
		{"duplicate membership", nested(udp, mship, func(e []mfAttr) []mfAttr {
			return append(e, e[0])
		}), "IPOPT_MREQ"},
		{"duplicate membership with another imr_address", nested(raw, mship, func(e []mfAttr) []mfAttr {
			return append(e, mfAttr{mreq, mfMreqn("239.9.9.9", "127.0.0.1", 1)})
		}), "IPOPT_MREQ"},
		{"too many memberships", nested(raw, mship, func(e []mfAttr) []mfAttr {
			return manyGroups(image.MaxMemberships + 1)
		}), "image"},

		// Source filters.
		{"filter without membership", nested(udp, filters, func(e []mfAttr) []mfAttr {
			return append(e, filterEntry("239.4.4.4", 1, image.ModeInclude, "10.0.0.1"))
		}), "IPOPT_MSF_MREQ"},
		{"filter on another ifindex", inFilter(udp, 1, func(p []mfAttr) []mfAttr {
			p[0].data = mfMreqn("224.0.0.251", "0.0.0.0", 1)
			return p
		}), "IPOPT_MSF_MREQ"},
		{"two filters for a membership", nested(udp, filters, func(e []mfAttr) []mfAttr {
			return append(e, filterEntry("239.1.1.1", 1, image.ModeInclude, "10.0.0.1"), filterEntry("239.1.1.1", 1, image.ModeExclude, "10.0.0.2"))
		}), "IPOPT_MSF_MREQ"},
		{"filter MREQ group unicast", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			p[0].data = mfMreqn("10.2.2.2", "0.0.0.0", 1)
			return p
		}), "IPOPT_MSF_MREQ"},
		{"filter MREQ of 8 bytes", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			p[0].data = p[0].data[:8]
			return p
		}), "IPOPT_MSF_MREQ"},
		{"mode 2", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			p[1].data = mfU32(2)
			return p
		}), "IPOPT_MSF_MODE"},
		{"mode of 1 byte", inFilter(udp, 1, func(p []mfAttr) []mfAttr {
			p[1].data = []byte{0}
			return p
		}), "IPOPT_MSF_MODE"},
		{"filter without mode", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			return slices.Delete(p, 1, 2)
		}), "IPOPT_SOURCE_FILTER"},
		{"filter mode before MREQ", inFilter(udp, 1, func(p []mfAttr) []mfAttr {
			p[0], p[1] = p[1], p[0]
			return p
		}), "IPOPT_SOURCE_FILTER"},
		{"filter holds an unknown id", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			return append(p, mfAttr{99, mfIP("10.0.0.7")})
		}), "IPOPT_SOURCE_FILTER"},
		{"filter entry not nested", nested(udp, filters, func(e []mfAttr) []mfAttr {
			e[0].typ &^= mfFNested
			return e
		}), "IPOPT_SOURCE_FILTERS"},
		{"filter list holds an MREQ", nested(udp, filters, func(e []mfAttr) []mfAttr {
			return append(e, nMreq("239.1.1.1", 1))
		}), "IPOPT_SOURCE_FILTERS"},
		{"filter list trailing bytes", edit(udp, func(a []mfAttr) []mfAttr {
			i := mfIndex(t, a, filters)
			a[i].data = append(a[i].data, 0)
			return a
		}), "IPOPT_SOURCE_FILTERS"},
		{"source multicast", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			p[2].data = mfIP("239.0.0.1")
			return p
		}), "IPOPT_MSF_SOURCE"},
		{"source 0.0.0.0", inFilter(udp, 1, func(p []mfAttr) []mfAttr {
			p[2].data = mfIP("0.0.0.0")
			return p
		}), "IPOPT_MSF_SOURCE"},
		{"source broadcast", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			p[3].data = mfIP("255.255.255.255")
			return p
		}), "IPOPT_MSF_SOURCE"},
		{"source of 16 bytes", inFilter(udp, 1, func(p []mfAttr) []mfAttr {
			p[2].data = append(p[2].data, make([]byte, 12)...)
			return p
		}), "IPOPT_MSF_SOURCE"},
		{"duplicate source", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			return append(p, p[2])
		}), "IPOPT_MSF_SOURCE"},
		{"too many sources", nested(udp, filters, func(e []mfAttr) []mfAttr {
			e[1] = filterEntry("224.0.0.251", 2, image.ModeExclude, manySources(image.MaxSources+1)...)
			return e
		}), "image"},
		{"INCLUDE with no sources", inFilter(udp, 0, func(p []mfAttr) []mfAttr {
			return p[:2]
		}), "IPOPT_SOURCE_FILTER"},
		{"EXCLUDE with no sources", nested(udp, filters, func(e []mfAttr) []mfAttr {
			return append(e, filterEntry("239.1.1.1", 1, image.ModeExclude))
		}), "IPOPT_SOURCE_FILTER"},
	}
	return cases
}

// mfNames reports whether text names attr as a whole word: the error's
// Attr field or its message.
func mfNames(text, attr string) bool {
	return regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(attr) + `($|[^A-Za-z0-9_])`).MatchString(text)
}

func TestMalformedImagesRefused(t *testing.T) {
	cases := malformedImages(t)
	if len(cases) < 45 {
		t.Errorf("only %d malformed cases", len(cases))
	}
	udp, tcp, raw := mfBases(t)
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Errorf("case %q listed twice", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			for _, base := range [][]byte{udp, tcp, raw} {
				if string(base) == string(c.image) {
					t.Fatal("the case is a base image unchanged")
				}
			}
			img, err := image.Decode(c.image)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", img)
			}
			if !errors.Is(err, syscall.EINVAL) {
				t.Errorf("errors.Is(%v, EINVAL) is false", err)
			}
			var ae *image.AttrError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v is not an *AttrError", err, err)
			}
			if ae.Attr != c.attr && !mfNames(ae.Reason, c.attr) {
				t.Errorf("error %q names %q, want %q", err, ae.Attr, c.attr)
			}
			msg := err.Error()
			if ae.Reason == "" || !strings.HasPrefix(msg, ae.Attr+": ") || strings.Contains(msg, "%!") {
				t.Errorf("unclear message %q", msg)
			}
			t.Logf("%s", msg)
		})
	}
}

// lastAttrName names an image's last attribute (TABLE_REVISION from table
// revision 2 on).
func lastAttrName(t testing.TB, b []byte) string {
	t.Helper()
	attrs, err := image.ParseAttrs(b, "image")
	if err != nil {
		t.Fatal(err)
	}
	return image.AttrName(attrs[len(attrs)-1].Type)
}
