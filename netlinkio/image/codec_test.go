package image_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// codecImageCmp compares images field by field; netip types compare with ==,
// Value and Membership with their Equal methods; a nil list equals an empty
// one (Clone makes empty lists).
var codecImageCmp = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// codecValueSet picks a value for every row that applies to a socket type.
type codecValueSet struct {
	name string
	pick func(o *image.Option) image.Value
}

// codecValueSets cover every kind at its low end, its high end and in between,
// flags off and on.
var codecValueSets = []codecValueSet{
	{"min", func(o *image.Option) image.Value {
		switch o.Kind {
		case image.IfName, image.RawOptions:
			return image.Value{Bytes: []byte{}}
		case image.InAddr:
			return image.Value{Bytes: []byte{0, 0, 0, 0}}
		case image.Linger, image.Filter, image.Timestamping, image.TxTime:
			return image.Value{}
		case image.S32:
			return image.Value{Num: uint64(uint32(int32(o.SMin)))}
		case image.Name:
			return image.Value{Bytes: []byte("x")}
		case image.AddrPrefs:
			return image.Value{Num: 0x500}
		}
		return image.Value{Num: o.Min}
	}},
	{"max", func(o *image.Option) image.Value {
		switch o.Kind {
		case image.Flag, image.BufLock:
			return image.Value{Num: 1}
		case image.IfName:
			return image.Value{Bytes: []byte("abcdefghijklmno")}
		case image.InAddr:
			return image.Value{Bytes: []byte{255, 255, 255, 255}}
		case image.RawOptions:
			return image.Value{Bytes: bytes.Repeat([]byte{0x01}, 40)}
		case image.Linger:
			return image.Value{Num: 1, Num2: o.Max}
		case image.TstampNew:
			return image.Value{Num: 1}
		case image.Name:
			return image.Value{Bytes: []byte("abcdefghijklmno")}
		case image.Filter:
			return image.Value{Bytes: bytes.Repeat([]byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, image.MaxFilterLen)}
		case image.Timestamping:
			return image.Value{Num: 1<<19 - 1, Num2: 1<<31 - 1}
		case image.TxTime:
			return image.Value{Num: 11, Num2: 3}
		case image.AddrPrefs:
			return image.Value{Num: 0x401}
		}
		return image.Value{Num: o.Max}
	}},
	{"mixed", func(o *image.Option) image.Value {
		switch o.Kind {
		case image.Flag, image.BufLock:
			return image.Value{Num: uint64(o.Attr % 2)}
		case image.U8, image.FollowsDefault:
			return image.Value{Num: max(o.Min, min(o.Max, 0x81))}
		case image.U32, image.IfIndexBE, image.McastIfIndex, image.MSS:
			return image.Value{Num: max(o.Min, min(o.Max, 0x01020304))}
		case image.BufSize:
			return image.Value{Num: 0x00030102}
		case image.Micros:
			return image.Value{Num: 0x0102030405060708}
		case image.Linger:
			return image.Value{Num: 0, Num2: 0x01020304}
		case image.IfName:
			return image.Value{Bytes: []byte("veth-a.1")}
		case image.InAddr:
			return image.Value{Bytes: []byte{192, 0, 2, 1}}
		case image.RawOptions:
			return image.Value{Bytes: []byte{0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}}
		case image.U64:
			return image.Value{Num: 0x0102030405060708}
		case image.S32:
			return image.Value{Num: 0xffffffff} // -1
		case image.Name:
			return image.Value{Bytes: []byte("cubic")}
		case image.Filter:
			return image.Value{Bytes: []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0x16, 0, 0, 0, 0, 0, 0, 0}}
		case image.Tstamp:
			return image.Value{Num: 1}
		case image.TstampNew:
			return image.Value{Num: 1}
		case image.Timestamping:
			return image.Value{Num: 26}
		case image.TxTime:
			return image.Value{Num: 1, Num2: 2}
		case image.AddrPrefs:
			return image.Value{Num: 0x104}
		}
		panic(fmt.Sprintf("no value for kind %d", o.Kind))
	}},
}

func (s codecValueSet) values(typ uint16) map[uint16]image.Value {
	m := map[uint16]image.Value{}
	for _, o := range image.OptionsFor(unix.AF_INET, typ) {
		m[o.Attr] = s.pick(o)
	}
	return m
}

func cAddr(s string) netip.Addr         { return netip.MustParseAddr(s) }
func cAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func cAddrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, cAddr(s))
	}
	return out
}

// codecShapes are the socket images of the tests, without option values.
func codecShapes() []*image.Image {
	return []*image.Image{
		{ // connected UDP, memberships unsorted, filters of both modes
			Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 1,
			Local: cAddrPort("10.1.2.3:5353"), Peer: cAddrPort("10.9.8.7:40000"),
			Memberships: []image.Membership{
				{Group: cAddr("239.255.0.1"), Address: cAddr("0.0.0.0"), Ifindex: 3},
				{Group: cAddr("224.0.0.251"), Address: cAddr("10.1.2.3"), Ifindex: 2, Mode: image.ModeInclude, Sources: cAddrs("10.0.0.9", "10.0.0.1", "192.168.1.1")},
				{Group: cAddr("239.1.1.1"), Address: cAddr("0.0.0.0"), Ifindex: 2, Mode: image.ModeExclude, Sources: cAddrs("172.16.0.1")},
				{Group: cAddr("224.0.0.1"), Address: cAddr("0.0.0.0"), Ifindex: 3},
			},
		},
		{ // unbound UDP-Lite, no memberships
			Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDPLITE, State: 7,
			Local: cAddrPort("0.0.0.0:0"), Peer: cAddrPort("0.0.0.0:0"),
		},
		{ // listening TCP
			Family: unix.AF_INET, Type: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP, State: 10,
			Local: cAddrPort("0.0.0.0:8080"), Peer: cAddrPort("0.0.0.0:0"),
		},
		{ // established TCP
			Family: unix.AF_INET, Type: unix.SOCK_STREAM, Protocol: unix.IPPROTO_TCP, State: 1,
			Local: cAddrPort("127.0.0.1:34567"), Peer: cAddrPort("127.0.0.1:65535"),
		},
		{ // RAW ICMP with a membership
			Family: unix.AF_INET, Type: unix.SOCK_RAW, Protocol: unix.IPPROTO_ICMP, State: 7,
			Local: cAddrPort("192.0.2.1:0"), Peer: cAddrPort("0.0.0.0:0"),
			Memberships: []image.Membership{{Group: cAddr("239.0.0.7"), Address: cAddr("0.0.0.0"), Ifindex: 1, Mode: image.ModeInclude, Sources: cAddrs("198.51.100.1")}},
		},
		{ // connected RAW of protocol 255
			Family: unix.AF_INET, Type: unix.SOCK_RAW, Protocol: 255, State: 1,
			Local: cAddrPort("192.0.2.1:255"), Peer: cAddrPort("192.0.2.2:0"),
		},
	}
}

type codecCase struct {
	name string
	img  *image.Image
}

// codecCases combines every shape with every value set.
func codecCases() []codecCase {
	var out []codecCase
	for i, img := range codecShapes() {
		for _, vs := range codecValueSets {
			c := img.Clone()
			c.Values = vs.values(c.Type)
			out = append(out, codecCase{fmt.Sprintf("shape%d-type%d-%s", i, c.Type, vs.name), c})
		}
	}
	return out
}

func TestCodecRoundTrip(t *testing.T) {
	for _, c := range codecCases() {
		t.Run(c.name, func(t *testing.T) {
			if err := c.img.Validate(); err != nil {
				t.Fatalf("fixture does not validate: %v", err)
			}
			b := c.img.Encode()
			got, err := image.Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode()): %v", err)
			}
			want := c.img.Clone()
			want.Canonicalize()
			if diff := cmp.Diff(want, got, codecImageCmp); diff != "" {
				t.Errorf("decoded image differs (-want +got):\n%s", diff)
			}
			b2 := got.Encode()
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs:\n first %x\nsecond %x", b, b2)
			}
			again, err := image.Decode(b2)
			if err != nil {
				t.Fatalf("second Decode: %v", err)
			}
			if diff := cmp.Diff(got, again, codecImageCmp); diff != "" {
				t.Errorf("second decode differs (-first +second):\n%s", diff)
			}
		})
	}
}

func TestCodecCanonicalOrder(t *testing.T) {
	for _, c := range codecCases() {
		t.Run(c.name, func(t *testing.T) {
			b := c.img.Encode()
			for range 5 { // map order must not leak into the stream
				if !bytes.Equal(b, c.img.Encode()) {
					t.Fatal("two encodings of one image differ")
				}
			}
			attrs := mfSplit(t, b)
			if attrs[0].typ != image.AttrVersion {
				t.Fatalf("first attribute is %d, want VERSION", attrs[0].typ)
			}
			for i := 1; i < len(attrs); i++ {
				if attrs[i-1].typ&mfTypeMask >= attrs[i].typ&mfTypeMask {
					t.Errorf("attribute %s follows %s", image.AttrName(attrs[i].typ&mfTypeMask), image.AttrName(attrs[i-1].typ&mfTypeMask))
				}
			}
			for _, a := range attrs {
				switch a.typ & mfTypeMask {
				case image.AttrMembership:
					codecCheckMreqOrder(t, mfSplit(t, a.data), func(e mfAttr) []byte { return e.data })
				case image.AttrSourceFilters:
					entries := mfSplit(t, a.data)
					codecCheckMreqOrder(t, entries, func(e mfAttr) []byte { return mfSplit(t, e.data)[0].data })
					for _, e := range entries {
						parts := mfSplit(t, e.data)
						for i := 3; i < len(parts); i++ {
							if bytes.Compare(parts[i-1].data, parts[i].data) >= 0 {
								t.Errorf("sources out of order: %x then %x", parts[i-1].data, parts[i].data)
							}
						}
					}
				}
			}
		})
	}
}

// codecCheckMreqOrder checks that ip_mreqn entries ascend by ifindex, then group.
func codecCheckMreqOrder(t *testing.T, entries []mfAttr, mreq func(mfAttr) []byte) {
	t.Helper()
	key := func(m []byte) string {
		return fmt.Sprintf("%010d %x", mfNative.Uint32(m[8:]), m[0:4])
	}
	for i := 1; i < len(entries); i++ {
		a, b := key(mreq(entries[i-1])), key(mreq(entries[i]))
		if a >= b {
			t.Errorf("memberships out of order: %s then %s", a, b)
		}
	}
}

func TestCodecMembershipOrderIrrelevant(t *testing.T) {
	base := codecShapes()[0]
	base.Values = codecValueSets[2].values(base.Type)
	sorted := base.Clone()
	sorted.Canonicalize()
	want := sorted.Encode()
	// Every permutation of the four memberships, each with its sources
	// reversed, encodes to the same bytes.
	n := len(base.Memberships)
	var permute func(k int, p []int)
	count := 0
	permute = func(k int, p []int) {
		if k == n {
			img := base.Clone()
			for i, j := range p {
				img.Memberships[i] = base.Clone().Memberships[j]
				slices.Reverse(img.Memberships[i].Sources)
			}
			before := img.Clone()
			if got := img.Encode(); !bytes.Equal(got, want) {
				t.Errorf("order %v encodes differently", p)
			}
			if diff := cmp.Diff(before, img, codecImageCmp); diff != "" {
				t.Errorf("Encode changed its image (-before +after):\n%s", diff)
			}
			count++
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			permute(k+1, p)
			p[k], p[i] = p[i], p[k]
		}
	}
	permute(0, []int{0, 1, 2, 3})
	if count != 24 {
		t.Fatalf("tried %d orders, want 24", count)
	}
}

func TestCodecFlagsAbsentWhenOff(t *testing.T) {
	for _, shape := range codecShapes() {
		for _, o := range image.OptionsFor(shape.Family, shape.Type) {
			if o.Kind != image.Flag && o.Kind != image.BufLock {
				continue
			}
			t.Run(fmt.Sprintf("type%d/%s", shape.Type, o.Path()), func(t *testing.T) {
				img := shape.Clone()
				img.Values = codecValueSets[1].values(img.Type) // all on
				on := codecFindAttr(t, img.Encode(), o.Attr)
				if on == nil {
					t.Fatalf("%s on: attribute absent", o.AttrName())
				}
				if len(on.data) != 0 || on.typ != o.Attr {
					t.Errorf("%s on: header type %#x, payload %x; want a bare flag", o.AttrName(), on.typ, on.data)
				}
				img.Values[o.Attr] = image.Value{}
				if off := codecFindAttr(t, img.Encode(), o.Attr); off != nil {
					t.Errorf("%s off: attribute present", o.AttrName())
				}
				delete(img.Values, o.Attr)
				if off := codecFindAttr(t, img.Encode(), o.Attr); off != nil {
					t.Errorf("%s not in Values: attribute present", o.AttrName())
				}
			})
		}
	}
}

func codecFindAttr(t *testing.T, b []byte, id uint16) *mfAttr {
	t.Helper()
	for _, a := range mfSplit(t, b) {
		if a.typ&mfTypeMask == id {
			return &a
		}
	}
	return nil
}

func TestCodecNonFlagsAlwaysPresent(t *testing.T) {
	for _, shape := range codecShapes() {
		img := shape.Clone()
		img.Values = codecValueSets[0].values(img.Type) // zeros, empty strings
		b := img.Encode()
		for _, o := range image.OptionsFor(img.Family, img.Type) {
			if o.Kind.IsFlag() {
				continue
			}
			if codecFindAttr(t, b, o.Attr) == nil {
				t.Errorf("type %d: %s absent at its lowest value", img.Type, o.AttrName())
			}
		}
		for _, o := range image.Options {
			if !o.Types.Has(img.Family, img.Type) && codecFindAttr(t, b, o.Attr) != nil {
				t.Errorf("type %d: %s present but does not apply", img.Type, o.AttrName())
			}
		}
		list := codecFindAttr(t, b, image.AttrMembership)
		switch {
		case img.Type == unix.SOCK_STREAM && list != nil:
			t.Errorf("TCP image has a membership list")
		case img.Type != unix.SOCK_STREAM && list == nil:
			t.Errorf("type %d: membership list absent", img.Type)
		case list != nil && list.typ != image.AttrMembership|mfFNested:
			t.Errorf("membership list header type %#x, want NLA_F_NESTED|%d", list.typ, image.AttrMembership)
		}
		hasFilter := slices.ContainsFunc(img.Memberships, image.Membership.HasFilter)
		if f := codecFindAttr(t, b, image.AttrSourceFilters); (f != nil) != hasFilter {
			t.Errorf("type %d: SOURCE_FILTERS present %v, a filter exists %v", img.Type, f != nil, hasFilter)
		}
	}
	// No membership: the list is an empty nested attribute.
	img := codecShapes()[1]
	img.Values = codecValueSets[0].values(img.Type)
	if l := codecFindAttr(t, img.Encode(), image.AttrMembership); l == nil || len(l.data) != 0 {
		t.Errorf("empty membership list: %+v, want a bare nested header", l)
	}
}

// TestCodecLayout pins the bytes of the header, of each kind and of the
// membership structures against the format document: host order for
// integers, network order for in_addr and ports.
func TestCodecLayout(t *testing.T) {
	be := binary.BigEndian
	img := codecShapes()[0]
	img.Values = codecValueSets[2].values(img.Type)
	b := img.Encode()
	if len(b)%4 != 0 {
		t.Errorf("image length %d is not a multiple of 4", len(b))
	}
	wantHead := mfPut(nil, 1, mfU32(1))
	wantHead = mfPut(wantHead, 3, mfU16(unix.AF_INET))
	wantHead = mfPut(wantHead, 4, mfU16(unix.SOCK_DGRAM))
	wantHead = mfPut(wantHead, 5, mfU16(unix.IPPROTO_UDP))
	wantHead = mfPut(wantHead, 6, []byte{1})
	local := mfNative.AppendUint16(nil, unix.AF_INET)
	local = be.AppendUint16(local, 5353)
	local = append(local, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0)
	wantHead = mfPut(wantHead, 7, local)
	wantHead = mfPut(wantHead, 8, mfSockaddr(unix.AF_INET, "10.9.8.7", 40000))
	if !bytes.HasPrefix(b, wantHead) {
		t.Errorf("header:\n got %x\nwant %x", b[:min(len(b), len(wantHead))], wantHead)
	}
	if want := []byte{8, 0, 1, 0, 1, 0, 0, 0}; binary.NativeEndian.Uint16([]byte{1, 0}) == 1 && !bytes.HasPrefix(b, want) {
		t.Errorf("little-endian VERSION is %x, want %x", b[:8], want)
	}

	byPath := func(path string) *mfAttr { return codecFindAttr(t, b, mfID(t, path)) }
	for _, tc := range []struct {
		path string
		want []byte
	}{
		{"ipopt/ttl", []byte{0x81}},
		{"sockopt/priority", mfU32(0x01020304)},
		{"sockopt/sndbuf", mfU32(0x00030102)},
		{"sockopt/rcvtimeo", mfU64(0x0102030405060708)},
		{"sockopt/linger", append(mfU32(0), mfU32(0x01020304)...)},
		{"sockopt/bindtodevice", []byte("veth-a.1")},
		{"ipopt/multicast_if", []byte{192, 0, 2, 1}},
		{"ipopt/unicast_if", mfU32(0x01020304)},
		{"ipopt/options", []byte{0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}},
	} {
		a := byPath(tc.path)
		if a == nil {
			t.Errorf("%s absent", tc.path)
			continue
		}
		if !bytes.Equal(a.data, tc.want) {
			t.Errorf("%s payload %x, want %x", tc.path, a.data, tc.want)
		}
	}

	// The membership list, sorted by ifindex then group.
	list := codecFindAttr(t, b, image.AttrMembership)
	var wantList []byte
	for _, m := range []struct {
		group, address string
		ifindex        int32
	}{{"224.0.0.251", "10.1.2.3", 2}, {"239.1.1.1", "0.0.0.0", 2}, {"224.0.0.1", "0.0.0.0", 3}, {"239.255.0.1", "0.0.0.0", 3}} {
		wantList = mfPut(wantList, image.AttrMreq, mfMreqn(m.group, m.address, m.ifindex))
	}
	if list == nil || !bytes.Equal(list.data, wantList) {
		t.Errorf("membership list:\n got %+v\nwant %x", list, wantList)
	}
	// The source filters: one entry per membership with a filter.
	filters := codecFindAttr(t, b, image.AttrSourceFilters)
	e1 := mfPut(nil, image.AttrMsfMreq, mfMreqn("224.0.0.251", "10.1.2.3", 2))
	e1 = mfPut(e1, image.AttrMsfMode, mfU32(image.ModeInclude))
	for _, s := range []string{"10.0.0.1", "10.0.0.9", "192.168.1.1"} {
		e1 = mfPut(e1, image.AttrMsfSource, mfIP(s))
	}
	e2 := mfPut(nil, image.AttrMsfMreq, mfMreqn("239.1.1.1", "0.0.0.0", 2))
	e2 = mfPut(e2, image.AttrMsfMode, mfU32(image.ModeExclude))
	e2 = mfPut(e2, image.AttrMsfSource, mfIP("172.16.0.1"))
	wantFilters := mfPut(mfPut(nil, image.AttrSourceFilter|mfFNested, e1), image.AttrSourceFilter|mfFNested, e2)
	if filters == nil || filters.typ != image.AttrSourceFilters|mfFNested || !bytes.Equal(filters.data, wantFilters) {
		t.Errorf("source filters:\n got %+v\nwant %x", filters, wantFilters)
	}
}

// TestCodecWireUnwire checks each row's payload codec on its own.
func TestCodecWireUnwire(t *testing.T) {
	wantLen := map[image.Kind]int{
		image.U8: 1, image.U32: 4, image.BufSize: 4, image.IfIndexBE: 4,
		image.InAddr: 4, image.Micros: 8, image.Linger: 8,
	}
	for _, o := range image.Options {
		for _, vs := range codecValueSets {
			v := vs.pick(&o)
			payload, present := o.Wire(v)
			flag := o.Kind.IsFlag()
			if flag {
				if present != (v.Num != 0) || len(payload) != 0 {
					t.Errorf("%s %s: Wire(%+v) = %x, %v", o.Path(), vs.name, v, payload, present)
				}
				if !present {
					continue
				}
			} else if !present {
				t.Errorf("%s %s: Wire says absent", o.Path(), vs.name)
				continue
			}
			if n, ok := wantLen[o.Kind]; ok && len(payload) != n {
				t.Errorf("%s: payload of %d bytes, want %d", o.Path(), len(payload), n)
			}
			got, err := o.Unwire(payload)
			if err != nil {
				t.Errorf("%s %s: Unwire(%x): %v", o.Path(), vs.name, payload, err)
				continue
			}
			if !got.Equal(v) {
				t.Errorf("%s %s: Unwire(Wire(%+v)) = %+v", o.Path(), vs.name, v, got)
			}
		}
	}
}

// TestCodecAttrNames pins the names that errors and docs use.
func TestCodecAttrNames(t *testing.T) {
	for id, want := range map[uint16]string{
		1: "VERSION", 2: "INODE", 3: "FAMILY", 4: "TYPE", 5: "PROTOCOL", 6: "STATE", 7: "LOCAL", 8: "PEER",
		40: "IPOPT_OPTIONS", 41: "IPOPT_PKTINFO", 45: "IPOPT_RETOPTS", 47: "IPOPT_TTL", 54: "IPOPT_MEMBERSHIP",
		55: "IPOPT_MREQ", 56: "IPOPT_MULTICAST_IF", 65: "IPOPT_SOURCE_FILTERS", 66: "IPOPT_SOURCE_FILTER",
		67: "IPOPT_MSF_MREQ", 68: "IPOPT_MSF_MODE", 69: "IPOPT_MSF_SOURCE", 999: "attribute 999",
	} {
		if got := image.AttrName(id); got != want {
			t.Errorf("AttrName(%d) = %q, want %q", id, got, want)
		}
	}
	// The design's pinned ids 40-56 and a unique id per row.
	pinned := map[string]uint16{
		"options": 40, "pktinfo": 41, "recvtos": 42, "recvttl": 43, "recvopts": 44, "retopts": 45, "tos": 46,
		"ttl": 47, "hdrincl": 48, "recverr": 49, "mtu_discover": 50, "router_alert": 51, "multicast_ttl": 52,
		"multicast_loop": 53, "multicast_if": 56,
	}
	seen := map[uint16]string{}
	for _, o := range image.Options {
		if o.Dir == "ipopt" {
			if id, ok := pinned[o.Name]; ok && o.Attr != id {
				t.Errorf("%s has id %d, the design pins %d", o.Path(), o.Attr, id)
			}
		}
		if other, dup := seen[o.Attr]; dup {
			t.Errorf("id %d used by %s and %s", o.Attr, other, o.Path())
		}
		seen[o.Attr] = o.Path()
		switch {
		case o.Dir == "sockopt" && (o.Attr < 9 || o.Attr > 39) && (o.Attr < 100 || o.Attr > 139):
			t.Errorf("%s: socket option id %d outside 9-39 and 100-139", o.Path(), o.Attr)
		case o.Dir == "udpopt" && (o.Attr < 140 || o.Attr > 169), o.Dir == "tcpopt" && (o.Attr < 170 || o.Attr > 229):
			t.Errorf("%s: id %d outside its level's range", o.Path(), o.Attr)
		case o.Dir == "ipopt" && o.Attr < 40:
			t.Errorf("%s: IP option id %d below 40", o.Path(), o.Attr)
		case o.Attr == image.AttrMembership || o.Attr == image.AttrMreq || (o.Attr >= image.AttrSourceFilters && o.Attr <= image.AttrMsfSource):
			t.Errorf("%s reuses the fixed id %d", o.Path(), o.Attr)
		}
	}
	for i := 1; i < len(image.Options); i++ {
		if image.Options[i-1].Attr >= image.Options[i].Attr {
			t.Errorf("table order: %s (%d) before %s (%d)", image.Options[i-1].Path(), image.Options[i-1].Attr, image.Options[i].Path(), image.Options[i].Attr)
		}
	}
}
