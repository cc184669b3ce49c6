package image_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// TestDecodeGolden decodes a stream built by hand from the format document,
// not by Encode, so that encoder and decoder cannot agree on a mistake.
func TestDecodeGolden(t *testing.T) {
	b := mfPut(nil, 1, mfU32(1))
	b = mfPut(b, 3, mfU16(unix.AF_INET))
	b = mfPut(b, 4, mfU16(unix.SOCK_DGRAM))
	b = mfPut(b, 5, mfU16(unix.IPPROTO_UDP))
	b = mfPut(b, 6, []byte{7})
	b = mfPut(b, 7, mfSockaddr(unix.AF_INET, "192.0.2.10", 0x1234))
	b = mfPut(b, 8, mfSockaddr(unix.AF_INET, "0.0.0.0", 0))
	want := &image.Image{
		Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 7,
		Local: cAddrPort("192.0.2.10:4660"), Peer: cAddrPort("0.0.0.0:0"),
		Values: map[uint16]image.Value{},
		Memberships: []image.Membership{
			{Group: cAddr("239.0.0.2"), Address: cAddr("0.0.0.0"), Ifindex: 1},
			{Group: cAddr("239.0.0.1"), Address: cAddr("192.0.2.10"), Ifindex: 7, Mode: image.ModeInclude, Sources: cAddrs("198.51.100.7")},
		},
		Revision: 1, // no TABLE_REVISION
	}
	// The list sorted by ifindex then group; the filter of the second.
	list := mfPut(nil, 55, mfMreqn("239.0.0.2", "0.0.0.0", 1))
	list = mfPut(list, 55, mfMreqn("239.0.0.1", "192.0.2.10", 7))
	listPlaced := false
	// Every option row of SOCK_DGRAM with a value of its kind; flags off,
	// so absent, except the ones set here. The list takes its place by id.
	// The image is of table revision 1: the rows added since are unknown
	// to it.
	want.Revision = 1
	for _, o := range image.OptionsFor(unix.AF_INET, unix.SOCK_DGRAM) {
		if !want.Knows(o) {
			continue
		}
		if o.Attr > 54 && !listPlaced {
			b = mfPut(b, 54|mfFNested, list)
			listPlaced = true
		}
		var v image.Value
		var payload []byte
		present := true
		switch o.Kind {
		case image.Flag, image.BufLock:
			present = o.Name == "reuseaddr" || o.Name == "rcvbuf_ulock" || o.Name == "multicast_loop"
			if present {
				v.Num = 1
			}
		case image.U8:
			v.Num = 200
			if o.Max < 200 {
				v.Num = o.Max
			}
			payload = []byte{byte(v.Num)}
		case image.U32, image.IfIndexBE:
			v.Num = 0x0a0b0c0d & o.Max
			payload = mfU32(uint32(v.Num))
		case image.BufSize:
			v.Num = 0x10000
			payload = mfU32(0x10000)
		case image.Micros:
			v.Num = 1_500_000
			payload = mfU64(1_500_000)
		case image.Linger:
			v.Num, v.Num2 = 1, 5
			payload = append(mfU32(1), mfU32(5)...)
		case image.IfName:
			v.Bytes = []byte("eth0")
			payload = []byte("eth0")
		case image.InAddr:
			v.Bytes = []byte{192, 0, 2, 10}
			payload = []byte{192, 0, 2, 10}
		case image.RawOptions:
			v.Bytes = []byte{}
			payload = nil
		}
		want.Values[o.Attr] = v
		if present {
			b = mfPut(b, o.Attr, payload)
		}
	}
	entry := mfPut(nil, 67, mfMreqn("239.0.0.1", "192.0.2.10", 7))
	entry = mfPut(entry, 68, mfU32(1))
	entry = mfPut(entry, 69, []byte{198, 51, 100, 7})
	b = mfPut(b, 65|mfFNested, mfPut(nil, 66|mfFNested, entry))

	want.Revision = 1 // the image says no revision
	got, err := image.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if diff := cmp.Diff(want, got, codecImageCmp); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	if enc := want.Encode(); !bytes.Equal(enc, b) {
		t.Errorf("Encode of the same image:\n got %x\nwant %x", enc, b)
	}
}

// TestDecodeFlagsAbsent: an image without any flag attribute is valid and
// reads as every flag off.
func TestDecodeFlagsAbsent(t *testing.T) {
	for _, shape := range codecShapes() {
		img := shape.Clone()
		img.Values = codecValueSets[1].values(img.Type) // flags on
		var stripped []mfAttr
		for _, a := range mfSplit(t, img.Encode()) {
			if o, ok := codecOptionByID(a.typ); ok && (o.Kind == image.Flag || o.Kind == image.BufLock) {
				continue
			}
			stripped = append(stripped, a)
		}
		got, err := image.Decode(mfJoin(stripped))
		if err != nil {
			t.Fatalf("type %d without flags: %v", img.Type, err)
		}
		for _, o := range image.OptionsFor(img.Family, img.Type) {
			v, ok := got.Values[o.Attr]
			if o.Kind == image.Flag || o.Kind == image.BufLock {
				if !ok || !v.Equal(image.Value{}) {
					t.Errorf("type %d: %s = %+v, %v; want off", img.Type, o.Path(), v, ok)
				}
				img.Values[o.Attr] = image.Value{}
			} else if !ok {
				t.Errorf("type %d: %s missing from Values", img.Type, o.Path())
			}
		}
		if len(got.Values) != len(image.OptionsFor(img.Family, img.Type)) {
			t.Errorf("type %d: %d values, want one per applicable row (%d)", img.Type, len(got.Values), len(image.OptionsFor(img.Family, img.Type)))
		}
		img.Canonicalize()
		if diff := cmp.Diff(img, got, codecImageCmp); diff != "" {
			t.Errorf("type %d (-want +got):\n%s", img.Type, diff)
		}
	}
}

func codecOptionByID(typ uint16) (*image.Option, bool) {
	for i := range image.Options {
		if image.Options[i].Attr == typ&mfTypeMask {
			return &image.Options[i], true
		}
	}
	return nil, false
}

// TestDecodeAnyOrder: a reader, like nla_parse, takes the attributes after
// VERSION in any order, memberships and sources too; Encode puts them back
// in canonical order.
func TestDecodeAnyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range codecCases() {
		t.Run(c.name, func(t *testing.T) {
			canonical := c.img.Encode()
			want, err := image.Decode(canonical)
			if err != nil {
				t.Fatal(err)
			}
			want.Canonicalize()
			for range 10 {
				attrs := mfSplit(t, canonical)
				rest := attrs[1:]
				r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
				for i := range attrs {
					switch attrs[i].typ & mfTypeMask {
					case image.AttrMembership:
						e := mfSplit(t, attrs[i].data)
						slices.Reverse(e)
						attrs[i].data = mfJoin(e)
					case image.AttrSourceFilters:
						e := mfSplit(t, attrs[i].data)
						slices.Reverse(e)
						for k := range e {
							p := mfSplit(t, e[k].data)
							slices.Reverse(p[2:])
							e[k].data = mfJoin(p)
						}
						attrs[i].data = mfJoin(e)
					}
				}
				shuffled := mfJoin(attrs)
				got, err := image.Decode(shuffled)
				if err != nil {
					t.Fatalf("shuffled image refused: %v", err)
				}
				if enc := got.Encode(); !bytes.Equal(enc, canonical) {
					t.Fatalf("re-encoding a shuffled image is not canonical")
				}
				got.Canonicalize()
				if diff := cmp.Diff(want, got, codecImageCmp); diff != "" {
					t.Fatalf("shuffled image decodes differently (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestDecodeLimits: the largest lists and the edge values are accepted.
func TestDecodeLimits(t *testing.T) {
	img := codecShapes()[0]
	img.Values = codecValueSets[1].values(img.Type)
	img.Memberships = nil
	// The longest lists leave no room for a filter of 32 KiB.
	for _, o := range image.OptionsFor(img.Family, img.Type) {
		if o.Kind == image.Filter {
			img.Values[o.Attr] = image.Value{}
		}
	}
	// As many memberships and sources as fit in MaxImageSize: the
	// format's limit, not the kernel's default sysctls (20 and 10).
	const groups, sources = 2000, 3000
	for i := range groups {
		m := image.Membership{Group: netip.AddrFrom4([4]byte{239, 1, byte(i >> 8), byte(i)}), Address: cAddr("0.0.0.0"), Ifindex: int32(i%3 + 1)}
		if i == 0 {
			m.Mode = image.ModeInclude
			for s := range sources {
				m.Sources = append(m.Sources, netip.AddrFrom4([4]byte{10, 0, byte((s + 1) >> 8), byte(s + 1)}))
			}
		}
		img.Memberships = append(img.Memberships, m)
	}
	b := img.Encode()
	if len(b) > image.MaxImageSize {
		t.Fatalf("largest image is %d bytes, over MaxImageSize", len(b))
	}
	got, err := image.Decode(b)
	if err != nil {
		t.Fatalf("%d memberships, one of %d sources: %v", groups, sources, err)
	}
	if len(got.Memberships) != groups {
		t.Errorf("%d memberships decoded", len(got.Memberships))
	}
	img.Canonicalize()
	if diff := cmp.Diff(img, got, codecImageCmp); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Every TCP state sock_diag reports.
	for st := uint8(1); st <= 12; st++ {
		tcp := codecShapes()[3]
		tcp.State = st
		tcp.Values = codecValueSets[0].values(tcp.Type)
		if _, err := image.Decode(tcp.Encode()); err != nil {
			t.Errorf("TCP state %d: %v", st, err)
		}
	}
}

// TestDecodeErrorReturnsNoImage: a refused image gives no image back, so a
// caller cannot apply half of one by mistake.
func TestDecodeErrorReturnsNoImage(t *testing.T) {
	for _, c := range malformedImages(t) {
		img, err := image.Decode(c.image)
		if err != nil && img != nil {
			t.Errorf("%s: Decode returned an image with its error %q", c.name, err)
		}
	}
}

// TestDecodeStrictSourceFilters: the parts of a source filter are held to
// the same rules as every other attribute: no nesting flag on a leaf, and
// the filter's ip_mreqn equal to its membership's, since a reader that
// accepted either would hand back an image that encodes differently.
func TestDecodeStrictSourceFilters(t *testing.T) {
	udp, _, _ := mfBases(t)
	editFilter := func(f func(p []mfAttr)) []byte {
		a := mfSplit(t, udp)
		i := mfIndex(t, a, image.AttrSourceFilters)
		e := mfSplit(t, a[i].data)
		p := mfSplit(t, e[0].data)
		f(p)
		e[0].data = mfJoin(p)
		a[i].data = mfJoin(e)
		return mfJoin(a)
	}
	for _, c := range []malformedCase{
		{"NLA_F_NESTED on MSF_MREQ", editFilter(func(p []mfAttr) { p[0].typ |= mfFNested }), "IPOPT_MSF_MREQ"},
		{"NLA_F_NESTED on MSF_MODE", editFilter(func(p []mfAttr) { p[1].typ |= mfFNested }), "IPOPT_MSF_MODE"},
		{"NLA_F_NESTED on MSF_SOURCE", editFilter(func(p []mfAttr) { p[2].typ |= mfFNested }), "IPOPT_MSF_SOURCE"},
		{"MSF_MREQ imr_address differs from the membership's", editFilter(func(p []mfAttr) {
			p[0].data = mfMreqn("239.2.2.2", "127.0.0.1", 1)
		}), "IPOPT_MSF_MREQ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := image.Decode(c.image)
			if err == nil {
				t.Fatalf("accepted; re-encoding is identical: %v", bytes.Equal(img.Encode(), c.image))
			}
			var ae *image.AttrError
			if !errors.As(err, &ae) || !errors.Is(err, syscall.EINVAL) || (ae.Attr != c.attr && !mfNames(ae.Reason, c.attr)) {
				t.Errorf("error %v, want an *AttrError naming %s", err, c.attr)
			}
		})
	}
}

// TestValidate: Validate refuses in-memory images (built from JSON, or by
// a caller) that Decode would refuse as bytes, and every image it accepts
// encodes without panicking into bytes that Decode accepts.
func TestValidate(t *testing.T) {
	good := func() *image.Image {
		img := codecShapes()[0]
		img.Values = codecValueSets[2].values(img.Type)
		return img
	}
	ttl, hdrincl, flag := mfID(t, "ipopt/ttl"), mfID(t, "ipopt/hdrincl"), mfID(t, "sockopt/reuseaddr")
	for _, c := range []struct {
		name string
		edit func(img *image.Image)
		attr string
	}{
		{"family", func(img *image.Image) { img.Family = unix.AF_UNIX }, "FAMILY"},
		{"family AF_INET6 with IPv4 addresses", func(img *image.Image) { img.Family = unix.AF_INET6 }, "LOCAL"},
		{"type", func(img *image.Image) { img.Type = unix.SOCK_SEQPACKET }, "TYPE"},
		{"protocol", func(img *image.Image) { img.Protocol = unix.IPPROTO_TCP }, "PROTOCOL"},
		{"state", func(img *image.Image) { img.State = 10 }, "STATE"},
		{"peer", func(img *image.Image) { img.Peer = cAddrPort("0.0.0.0:0") }, "PEER"},
		{"ttl 0", func(img *image.Image) { img.Values[ttl] = image.Value{} }, "IPOPT_TTL"},
		{"ttl 256", func(img *image.Image) { img.Values[ttl] = image.Value{Num: 256} }, "IPOPT_TTL"},
		{"ttl missing", func(img *image.Image) { delete(img.Values, ttl) }, "IPOPT_TTL"},
		{"flag 2", func(img *image.Image) { img.Values[flag] = image.Value{Num: 2} }, "SOCKOPT_REUSEADDR"},
		{"hdrincl on UDP", func(img *image.Image) { img.Values[hdrincl] = image.Value{Num: 1} }, "IPOPT_HDRINCL"},
		{"membership on TCP", func(img *image.Image) {
			img.Type, img.Protocol, img.Values = unix.SOCK_STREAM, unix.IPPROTO_TCP, codecValueSets[2].values(unix.SOCK_STREAM)
		}, "IPOPT_MEMBERSHIP"},
		{"group unicast", func(img *image.Image) { img.Memberships[0].Group = cAddr("10.0.0.1") }, "IPOPT_MREQ"},
		{"group IPv6", func(img *image.Image) {
			img.Memberships[0].Group, img.Memberships[0].Address = cAddr("ff02::1"), netip.Addr{}
		}, "IP6OPT_MEMBERSHIP"},
		{"group IPv6 with an address", func(img *image.Image) { img.Memberships[0].Group = cAddr("ff02::1") }, "IP6OPT_MREQ"},
		{"ifindex 0", func(img *image.Image) { img.Memberships[0].Ifindex = 0 }, "IPOPT_MREQ"},
		{"duplicate membership", func(img *image.Image) {
			img.Memberships = append(img.Memberships, img.Memberships[0])
		}, "IPOPT_MREQ"},
		{"too many memberships", func(img *image.Image) {
			for i := range image.MaxMemberships {
				img.Memberships = append(img.Memberships, image.Membership{Group: netip.AddrFrom4([4]byte{239, 7, byte(i >> 8), byte(i)}), Ifindex: 9})
			}
		}, "image"},
		{"mode 2", func(img *image.Image) { img.Memberships[1].Mode = 2 }, "IPOPT_MSF_MODE"},
		{"INCLUDE no sources", func(img *image.Image) {
			img.Memberships[1].Mode, img.Memberships[1].Sources = image.ModeInclude, nil
		}, "IPOPT_SOURCE_FILTER"},
		{"too many sources", func(img *image.Image) {
			for i := range image.MaxSources {
				img.Memberships[1].Sources = append(img.Memberships[1].Sources, netip.AddrFrom4([4]byte{10, 7, byte((i + 1) >> 8), byte(i + 1)}))
			}
		}, "image"},
		{"source multicast", func(img *image.Image) { img.Memberships[1].Sources[0] = cAddr("239.9.9.9") }, "IPOPT_MSF_SOURCE"},
		// These two are refused by Decode; Validate must agree.
		{"source broadcast", func(img *image.Image) { img.Memberships[1].Sources[0] = cAddr("255.255.255.255") }, "IPOPT_MSF_SOURCE"},
		{"duplicate source", func(img *image.Image) {
			img.Memberships[1].Sources = append(img.Memberships[1].Sources, img.Memberships[1].Sources[0])
		}, "IPOPT_MSF_SOURCE"},
		// Encode cannot write these (As4 panics); Validate must refuse them.
		{"LOCAL IPv6", func(img *image.Image) { img.Local = cAddrPort("[2001:db8::1]:5353") }, "LOCAL"},
		{"PEER IPv6", func(img *image.Image) { img.Peer = cAddrPort("[2001:db8::2]:53") }, "PEER"},
		{"imr_address IPv6", func(img *image.Image) { img.Memberships[0].Address = cAddr("2001:db8::1") }, "IPOPT_MREQ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := good()
			if err := img.Validate(); err != nil {
				t.Fatalf("base image: %v", err)
			}
			c.edit(img)
			err := img.Validate()
			if err == nil {
				var enc []byte
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("Validate accepted an image that Encode panics on: %v", p)
						}
					}()
					enc = img.Encode()
				}()
				if enc != nil {
					if _, derr := image.Decode(enc); derr != nil {
						t.Errorf("Validate accepted an image whose encoding Decode refuses: %v", derr)
					}
				}
				t.Fatalf("Validate accepted it, want an error naming %s", c.attr)
			}
			var ae *image.AttrError
			if !errors.As(err, &ae) || !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("error %T %v is not an *AttrError", err, err)
			}
			if ae.Attr != c.attr && !mfNames(ae.Reason, c.attr) {
				t.Errorf("error %q, want it to name %s", err, c.attr)
			}
		})
	}
}
