package image_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// defaults is an image of a fresh socket of type typ, built by hand so
// that the test needs no kernel.
func defaults(typ uint16) *image.Image {
	any0 := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	img := &image.Image{Family: unix.AF_INET, Type: typ, Protocol: unix.IPPROTO_UDP, State: 7, Local: any0, Peer: any0, Values: map[uint16]image.Value{}}
	for _, o := range image.OptionsFor(unix.AF_INET, typ) {
		v := image.Value{Num: o.Min}
		switch o.Kind {
		case image.InAddr:
			v.Bytes = []byte{0, 0, 0, 0}
		case image.IfName, image.RawOptions:
			v.Bytes = []byte{}
		case image.BufSize:
			v.Num = 212992
		}
		img.Values[o.Attr] = v
	}
	return img
}

// other is a valid value of o different from v.
func other(o *image.Option, v image.Value) image.Value {
	switch o.Kind {
	case image.InAddr:
		return image.Value{Bytes: []byte{10, 0, 0, 1}}
	case image.IfName:
		return image.Value{Bytes: []byte("eth0")}
	case image.RawOptions:
		return image.Value{Bytes: []byte{1, 1, 1, 0}}
	case image.Linger:
		return image.Value{Num: 1, Num2: 5}
	case image.Flag, image.BufLock:
		return image.Value{Num: 1 - v.Num}
	case image.MSS:
		return image.Value{Num: 1000} // below 88 a restore leaves it (TestDiffLeavesWhatFollows)
	}
	return image.Value{Num: v.Num + 1}
}

// TestDiffEveryOption changes each row of the table alone and checks that
// Diff names exactly that row, with the values as the tree shows them.
func TestDiffEveryOption(t *testing.T) {
	for _, typ := range []uint16{unix.SOCK_DGRAM, unix.SOCK_STREAM, unix.SOCK_RAW} {
		before := defaults(typ)
		if d := image.Diff(before, before.Clone()); len(d) != 0 {
			t.Fatalf("type %d: equal images differ: %v", typ, d)
		}
		for _, o := range image.OptionsFor(unix.AF_INET, typ) {
			want := before.Clone()
			want.Values[o.Attr] = other(o, before.Values[o.Attr])
			got := image.Diff(before, want)
			exp := []image.Change{{Path: o.Path(), Old: o.Format(before.Values[o.Attr]), New: o.Format(want.Values[o.Attr])}}
			if !slices.Equal(got, exp) {
				t.Errorf("type %d, %s: %v, want %v", typ, o.Path(), got, exp)
			}
		}
	}
}

func TestDiffAddressesAndMemberships(t *testing.T) {
	g1, g2 := netip.MustParseAddr("239.1.1.1"), netip.MustParseAddr("239.2.2.2")
	src := netip.MustParseAddr("10.0.0.9")
	before := defaults(unix.SOCK_DGRAM)
	before.Memberships = []image.Membership{
		{Group: g1, Address: netip.IPv4Unspecified(), Ifindex: 2},
		{Group: g2, Address: netip.IPv4Unspecified(), Ifindex: 2},
	}
	want := before.Clone()
	want.Local = netip.MustParseAddrPort("127.0.0.1:80")
	want.Peer = netip.MustParseAddrPort("127.0.0.1:53")
	want.State = 1
	want.Memberships = []image.Membership{
		{Group: g2, Address: netip.IPv4Unspecified(), Ifindex: 2, Mode: image.ModeInclude, Sources: []netip.Addr{src}},
		{Group: g1, Address: netip.IPv4Unspecified(), Ifindex: 3},
	}
	exp := []image.Change{
		{Path: "state", Old: "7", New: "1"},
		{Path: "local", Old: "0.0.0.0:0", New: "127.0.0.1:80"},
		{Path: "peer", Old: "0.0.0.0:0", New: "127.0.0.1:53"},
		{Path: "membership/239.1.1.1@2", Old: "exclude", New: ""},
		{Path: "membership/239.2.2.2@2", Old: "exclude", New: "include 10.0.0.9"},
		{Path: "membership/239.1.1.1@3", Old: "", New: "exclude"},
	}
	if got := image.Diff(before, want); !slices.Equal(got, exp) {
		t.Errorf("diff:\n got %v\nwant %v", got, exp)
	}
	// A bound socket keeps its address: a restore does not change LOCAL.
	before.Local = netip.MustParseAddrPort("127.0.0.1:4000")
	for _, c := range image.Diff(before, want) {
		if c.Path == "local" {
			t.Errorf("bound socket: %v", c)
		}
	}
}

// A restore leaves a value only the kernel sets, and an index that
// follows a changed interface name; Diff does not list them.
func TestDiffLeavesWhatFollows(t *testing.T) {
	before := defaults(unix.SOCK_STREAM)
	want := before.Clone()
	mss, _ := image.LookupOption("tcpopt", "maxseg")
	dev, _ := image.LookupOption("sockopt", "bindtodevice")
	idx, _ := image.LookupOption("sockopt", "bindtoifindex")
	want.Values[mss.Attr] = image.Value{Num: 68}
	want.Values[dev.Attr] = image.Value{Bytes: []byte("eth0")}
	want.Values[idx.Attr] = image.Value{Num: 7}
	got := image.Diff(before, want)
	exp := []image.Change{{Path: "sockopt/bindtodevice", Old: "", New: "eth0"}}
	if !slices.Equal(got, exp) {
		t.Errorf("%v, want %v", got, exp)
	}
}
