package image_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// v6Values gives every row of an AF_INET6 socket of typ a valid value:
// the least of its range, its own form for the kinds that have one, and
// v6only on (the socket below is bound to an IPv6 address).
func v6Values(typ uint16) map[uint16]image.Value {
	vals := map[uint16]image.Value{}
	for _, o := range image.OptionsFor(unix.AF_INET6, typ) {
		v := image.Value{Num: o.Min}
		switch o.Kind {
		case image.InAddr:
			v = image.Value{Bytes: []byte{0, 0, 0, 0}}
		case image.IfName, image.RawOptions:
			v = image.Value{Bytes: []byte{}}
		case image.BufSize:
			v.Num = 212992
		case image.AddrPrefs:
			v.Num = 0x401
		}
		switch o.Path() {
		case "ipopt/ttl":
			v.Num = 44
		case "ip6opt/v6only", "ip6opt/recvpktinfo":
			v.Num = 1
		case "ip6opt/unicast_hops":
			v.Num = 33
		}
		vals[o.Attr] = v
	}
	return vals
}

// v6Image is a connected dual-stack UDP socket bound to a link-local
// address, with two IPv6 groups (one with an MLDv2 filter) and one IPv4
// group.
func v6Image() *image.Image {
	return &image.Image{
		Family: unix.AF_INET6, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 1,
		Local:    netip.MustParseAddrPort("[fe80::1%3]:5353"),
		Peer:     netip.MustParseAddrPort("[fe80::9%3]:53"),
		Flowinfo: 0x12345,
		Values:   v6Values(unix.SOCK_DGRAM),
		Memberships: []image.Membership{
			{Group: netip.MustParseAddr("ff35::1"), Ifindex: 3, Mode: image.ModeInclude,
				Sources: []netip.Addr{netip.MustParseAddr("2001:db8::9"), netip.MustParseAddr("2001:db8::5")}},
			{Group: netip.MustParseAddr("ff02::fb"), Ifindex: 3},
			{Group: netip.MustParseAddr("224.0.0.251"), Address: netip.IPv4Unspecified(), Ifindex: 3},
		},
	}
}

// An AF_INET6 image round-trips through the binary and the JSON form
// byte for byte, in the canonical order, and lays out its header and
// lists as docs/image-format.md section 7 says.
func TestIPv6RoundTrip(t *testing.T) {
	img := v6Image()
	b := img.Encode()
	back, err := image.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Encode(); !bytes.Equal(got, b) {
		t.Fatalf("re-encoded image differs:\n% x\n% x", got, b)
	}
	if back.Local != img.Local || back.Peer != img.Peer || back.Flowinfo != img.Flowinfo {
		t.Errorf("addresses %s %s %#x, want %s %s %#x", back.Local, back.Peer, back.Flowinfo, img.Local, img.Peer, img.Flowinfo)
	}
	js, err := back.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := image.DecodeJSON(js)
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if !bytes.Equal(fromJSON.Encode(), b) {
		t.Errorf("JSON round trip differs: %s", js)
	}
	for _, want := range []string{`"family":"AF_INET6"`, `"local":"[fe80::1%3]:5353"`, `"flowinfo":74565`, `"ip6opt":{"unicast_hops":"33"`, `{"group":"ff02::fb","ifindex":3,"mode":"exclude","sources":[]}`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s:\n%s", want, js)
		}
	}

	attrs := mfSplit(t, b)
	local := attrs[mfIndex(t, attrs, image.AttrLocal)].data
	wantLocal := binary.NativeEndian.AppendUint16(nil, unix.AF_INET6)
	wantLocal = append(wantLocal, 0x14, 0xe9, 0, 0, 0, 0)
	fe80 := netip.MustParseAddr("fe80::1").As16()
	wantLocal = binary.NativeEndian.AppendUint32(append(wantLocal, fe80[:]...), 3)
	if !bytes.Equal(local, wantLocal) {
		t.Errorf("LOCAL % x, want % x", local, wantLocal)
	}
	if peer := attrs[mfIndex(t, attrs, image.AttrPeer)].data; !bytes.Equal(peer[4:8], []byte{0, 1, 0x23, 0x45}) {
		t.Errorf("PEER's sin6_flowinfo % x, want 00 01 23 45 (network order)", peer[4:8])
	}
	// Ascending ids; the IPv6 list after the IPv4 one, both nested.
	prev := uint16(0)
	for _, a := range attrs[1:] {
		if id := a.typ & mfTypeMask; id <= prev {
			t.Errorf("%s after %s", image.AttrName(id), image.AttrName(prev))
		} else {
			prev = id
		}
	}
	list := attrs[mfIndex(t, attrs, image.AttrMembership6)]
	if list.typ&0x8000 == 0 {
		t.Error("IP6OPT_MEMBERSHIP is not nested")
	}
	entries := mfSplit(t, list.data)
	ff02 := netip.MustParseAddr("ff02::fb").As16()
	if len(entries) != 2 || !bytes.Equal(entries[0].data, binary.NativeEndian.AppendUint32(ff02[:], 3)) {
		t.Errorf("IP6OPT_MEMBERSHIP entries %+v, want ff02::fb then ff35::1 as struct ipv6_mreq", entries)
	}
	if v4 := mfSplit(t, attrs[mfIndex(t, attrs, image.AttrMembership)].data); len(v4) != 1 {
		t.Errorf("IPOPT_MEMBERSHIP holds %d entries, want the IPv4 group", len(v4))
	}
	filters := mfSplit(t, attrs[mfIndex(t, attrs, image.AttrSourceFilters6)].data)
	if len(filters) != 1 {
		t.Fatalf("IP6OPT_SOURCE_FILTERS holds %d entries", len(filters))
	}
	parts := mfSplit(t, filters[0].data)
	if len(parts) != 4 || parts[2].typ != image.AttrMsfSource6 || len(parts[2].data) != 16 || netip.AddrFrom16([16]byte(parts[2].data)) != netip.MustParseAddr("2001:db8::5") {
		t.Errorf("the filter's parts %+v: want mreq, mode, then 2001:db8::5 and 2001:db8::9", parts)
	}
}

// The rows an AF_INET6 socket has, by type, as checked on the kernel
// (docs/image-format.md section 7).
func TestIPv6Rows(t *testing.T) {
	has := func(typ uint16, path string) bool {
		for _, o := range image.OptionsFor(unix.AF_INET6, typ) {
			if o.Path() == path {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		path              string
		udp, tcp, raw, v4 bool
	}{
		{"ipopt/ttl", true, true, false, true},
		{"ipopt/multicast_ttl", true, false, false, true},
		{"ipopt/freebind", false, false, false, true},
		{"ipopt/hdrincl", false, false, false, true},
		{"ip6opt/freebind", true, true, true, false},
		{"ip6opt/v6only", true, true, false, false},
		{"ip6opt/multicast_hops", true, false, true, false},
		{"ip6opt/recvpktinfo", true, false, true, false},
		{"ip6opt/hdrincl", false, false, true, false},
		{"sockopt/rcvbuf", true, true, true, true},
	} {
		got := [4]bool{has(unix.SOCK_DGRAM, c.path), has(unix.SOCK_STREAM, c.path), has(unix.SOCK_RAW, c.path)}
		for _, o := range image.OptionsFor(unix.AF_INET, unix.SOCK_RAW) {
			got[3] = got[3] || o.Path() == c.path
		}
		if got != [4]bool{c.udp, c.tcp, c.raw, c.v4} {
			t.Errorf("%s: UDP6 TCP6 RAW6 AF_INET %v, want %v", c.path, got, [4]bool{c.udp, c.tcp, c.raw, c.v4})
		}
	}
	if got := image.DirsFor(unix.AF_INET6, unix.SOCK_RAW); strings.Join(got, " ") != "ip6opt sockopt" {
		t.Errorf("AF_INET6 RAW directories %v", got)
	}
	if got := image.DirsFor(unix.AF_INET, unix.SOCK_DGRAM); strings.Join(got, " ") != "ipopt sockopt udpopt" {
		t.Errorf("AF_INET UDP directories %v", got)
	}
}

// Decode is as strict about the IPv6 attributes as about the others:
// each of these breaks one rule and is refused naming the attribute.
func TestIPv6StrictDecode(t *testing.T) {
	base := v6Image()
	b := base.Encode()
	edit := func(f func(a []mfAttr) []mfAttr) []byte { return mfJoin(f(mfSplit(t, b))) }
	set := func(id uint16, data []byte) []byte {
		return edit(func(a []mfAttr) []mfAttr { a[mfIndex(t, a, id)].data = data; return a })
	}
	drop := func(id uint16) []byte {
		return edit(func(a []mfAttr) []mfAttr { i := mfIndex(t, a, id); return append(a[:i:i], a[i+1:]...) })
	}
	add := func(id uint16, data []byte) []byte {
		return edit(func(a []mfAttr) []mfAttr { return append(a, mfAttr{typ: id, data: data}) })
	}
	local := mfSplit(t, b)[mfIndex(t, mfSplit(t, b), image.AttrLocal)].data
	patched := func(off int, bytes ...byte) []byte {
		l := append([]byte(nil), local...)
		copy(l[off:], bytes)
		return set(image.AttrLocal, l)
	}
	mreq6 := func(group string, ifindex uint32) []byte {
		g := netip.MustParseAddr(group).As16()
		return binary.NativeEndian.AppendUint32(g[:], ifindex)
	}
	list := func(entries ...[]byte) []byte {
		var out []byte
		for _, e := range entries {
			out = mfPut(out, image.AttrMreq6, e)
		}
		return out
	}
	v4 := mfBasesUDP(t)
	filtered := mreq6("ff35::1", 3) // the membership with a filter
	cases := []struct {
		name string
		b    []byte
		attr string
	}{
		{"LOCAL a sockaddr_in", set(image.AttrLocal, mfSockaddr(unix.AF_INET, "10.0.0.1", 53)), "LOCAL"},
		{"LOCAL sin6_family AF_INET", patched(0, byte(unix.AF_INET), 0), "LOCAL"},
		{"LOCAL with flowinfo", patched(4, 0, 0, 0, 1), "LOCAL"},
		{"LOCAL scope on a global address", set(image.AttrLocal, func() []byte {
			l := append([]byte(nil), local...)
			g := netip.MustParseAddr("2001:db8::1").As16()
			copy(l[8:24], g[:])
			return l
		}()), "LOCAL"},
		{"LOCAL 27 bytes", set(image.AttrLocal, local[:27]), "LOCAL"},
		{"IP6OPT_MEMBERSHIP missing", drop(image.AttrMembership6), "IP6OPT_MEMBERSHIP"},
		{"IP6OPT_MEMBERSHIP not nested", edit(func(a []mfAttr) []mfAttr { a[mfIndex(t, a, image.AttrMembership6)].typ &^= 0x8000; return a }), "IP6OPT_MEMBERSHIP"},
		{"IP6OPT_MREQ of 12 bytes", set(image.AttrMembership6, list(filtered, mreq6("ff02::fb", 3)[:12])), "IP6OPT_MREQ"},
		{"IP6OPT_MREQ a unicast group", set(image.AttrMembership6, list(filtered, mreq6("2001:db8::1", 3))), "IP6OPT_MREQ"},
		{"IP6OPT_MREQ a v4-mapped group", set(image.AttrMembership6, list(filtered, mreq6("::ffff:239.1.1.1", 3))), "IP6OPT_MREQ"},
		{"IP6OPT_MREQ ifindex 0", set(image.AttrMembership6, list(filtered, mreq6("ff02::fb", 0))), "IP6OPT_MREQ"},
		{"IP6OPT_MREQ twice", set(image.AttrMembership6, list(filtered, mreq6("ff02::fb", 3), mreq6("ff02::fb", 3))), "IP6OPT_MREQ"},
		{"IP6OPT_MSF_SOURCE of 4 bytes", set(image.AttrSourceFilters6, mfPut(nil, image.AttrSourceFilter6|0x8000,
			mfPut(mfPut(mfPut(nil, image.AttrMsfMreq6, filtered), image.AttrMsfMode6, mfU32(image.ModeInclude)), image.AttrMsfSource6, mfIP("10.0.0.1")))), "IP6OPT_MSF_SOURCE"},
		{"IP6OPT_MSF_SOURCE multicast", set(image.AttrSourceFilters6, mfPut(nil, image.AttrSourceFilter6|0x8000,
			mfPut(mfPut(mfPut(nil, image.AttrMsfMreq6, filtered), image.AttrMsfMode6, mfU32(image.ModeInclude)), image.AttrMsfSource6, mreq6("ff02::1", 0)[:16]))), "IP6OPT_MSF_SOURCE"},
		{"IPOPT_MREQ inside IP6OPT_MEMBERSHIP", set(image.AttrMembership6, mfPut(nil, image.AttrMreq, mfMreqn("239.1.1.1", "0.0.0.0", 3))), "IP6OPT_MEMBERSHIP"},
		{"IP6OPT_SOURCE_FILTERS empty", set(image.AttrSourceFilters6, nil), "IP6OPT_SOURCE_FILTERS"},
		{"an IPv6 row on an AF_INET image", func() []byte {
			return mfPut(slices.Clone(v4), mfID(t, "ip6opt/tclass"), []byte{1})
		}(), "IP6OPT_TCLASS"},
		{"IP6OPT_MEMBERSHIP on an AF_INET image", mfPut(slices.Clone(v4), image.AttrMembership6|0x8000, nil), "IP6OPT_MEMBERSHIP"},
		{"ipopt/freebind on AF_INET6", add(mfID(t, "ipopt/freebind"), nil), "IPOPT_FREEBIND"},
		{"ip6opt/addr_preferences 0x501", set(mfID(t, "ip6opt/addr_preferences"), mfU32(0x501)), "IP6OPT_ADDR_PREFERENCES"},
		{"v6only off on an unconnected socket bound to an IPv6 address", func() []byte {
			img := v6Image()
			img.Peer, img.Flowinfo, img.State = netip.MustParseAddrPort("[::]:0"), 0, 7
			img.Values[mfID(t, "ip6opt/v6only")] = image.Value{}
			return img.Encode()
		}(), "IP6OPT_V6ONLY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := image.Decode(c.b)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", img)
			}
			var ae *image.AttrError
			if !errors.As(err, &ae) || !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("error %T %v is not an *AttrError (EINVAL)", err, err)
			}
			if ae.Attr != c.attr {
				t.Errorf("error %q names %q, want %q", err, ae.Attr, c.attr)
			}
		})
	}
}

// mfBasesUDP is the AF_INET UDP base image of the malformed cases.
func mfBasesUDP(t *testing.T) []byte {
	udp, _, _ := mfBases(t)
	return udp
}

// A connect that picks the source address leaves v6only off: the image of
// a connected socket with an IPv6 source and v6only 0 is one the kernel
// makes, and it decodes.
func TestConnectedV6OnlyOff(t *testing.T) {
	img := v6Image()
	img.Values[mfID(t, "ip6opt/v6only")] = image.Value{}
	if _, err := image.Decode(img.Encode()); err != nil {
		t.Fatalf("a connected socket with v6only 0: %v", err)
	}
}
