package image_test

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// joined6 is v6Image with three more IPv6 groups joined C, A, B on
// ifindex 3 after its own, the IPv6 list in join order
// (IP6OPT_MEMBERSHIP_ORDER) and the IPv4 one not.
func joined6() *image.Image {
	img := v6Image()
	for _, g := range []string{"ff15::c", "ff15::a", "ff15::b"} {
		img.Memberships = append(img.Memberships, image.Membership{Group: netip.MustParseAddr(g), Ifindex: 3})
	}
	img.JoinOrder6 = true
	return img
}

// groups6 lists the groups of the image's IP6OPT_MEMBERSHIP, in the order
// the encoding has them.
func groups6(t *testing.T, b []byte) string {
	t.Helper()
	attrs := mfSplit(t, b)
	var out []string
	for _, e := range mfSplit(t, attrs[mfIndex(t, attrs, image.AttrMembership6)].data) {
		out = append(out, netip.AddrFrom16([16]byte(e.data[:16])).String())
	}
	return strings.Join(out, " ")
}

// The IPv6 list in join order survives Encode, Decode and Encode again,
// with IP6OPT_MEMBERSHIP_ORDER (267, a flag) after the IPv6 lists and
// before the ids above its own; without the flag the same list is
// canonical.
func TestJoinOrder6RoundTrip(t *testing.T) {
	img := joined6()
	b := img.Encode()
	const join = "ff35::1 ff02::fb ff15::c ff15::a ff15::b"
	if got := groups6(t, b); got != join {
		t.Errorf("IP6OPT_MEMBERSHIP %s, want the join order %s", got, join)
	}
	attrs := mfSplit(t, b)
	at := mfIndex(t, attrs, image.AttrMembershipOrder6)
	if len(attrs[at].data) != 0 || attrs[at].typ != image.AttrMembershipOrder6 {
		t.Errorf("IP6OPT_MEMBERSHIP_ORDER %+v, want a flag: no payload, no nesting", attrs[at])
	}
	if attrs[at-1].typ&0x3fff != image.AttrSourceFilters6 || attrs[at+1].typ&0x3fff <= image.AttrMembershipOrder6 {
		t.Errorf("IP6OPT_MEMBERSHIP_ORDER between %s and %s, want after IP6OPT_SOURCE_FILTERS, before the ids above its own",
			image.AttrName(attrs[at-1].typ&0x3fff), image.AttrName(attrs[at+1].typ))
	}
	if slices.ContainsFunc(attrs, func(a mfAttr) bool { return a.typ == image.AttrMembershipOrder }) {
		t.Error("IPOPT_MEMBERSHIP_ORDER set: only the IPv6 list is in join order")
	}
	back, err := image.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !back.JoinOrder6 || back.JoinOrder {
		t.Errorf("decoded JoinOrder6 %v JoinOrder %v, want true false", back.JoinOrder6, back.JoinOrder)
	}
	if got := back.Encode(); !bytes.Equal(got, b) {
		t.Errorf("re-encoded image differs:\n% x\n% x", got, b)
	}

	img.JoinOrder6 = false
	const canonical = "ff02::fb ff15::a ff15::b ff15::c ff35::1"
	if got := groups6(t, img.Encode()); got != canonical {
		t.Errorf("without the flag IP6OPT_MEMBERSHIP %s, want the canonical %s", got, canonical)
	}
	// The IPv4 list's flag orders the IPv4 list only: the IPv6 one it
	// leaves canonical, whatever order the image has it in.
	img.JoinOrder = true
	b4 := img.Encode()
	if got := groups6(t, b4); got != canonical {
		t.Errorf("with IPOPT_MEMBERSHIP_ORDER only, IP6OPT_MEMBERSHIP %s, want the canonical %s", got, canonical)
	}
	if back, err := image.Decode(b4); err != nil || back.JoinOrder6 || !back.JoinOrder {
		t.Errorf("decoded %v: JoinOrder6 %v JoinOrder %v, want false true", err, back.JoinOrder6, back.JoinOrder)
	}
}

// A decoder takes the IPv6 list in any order without duplicates; an image
// without the flag re-encodes canonical, one with it keeps its order.
func TestJoinOrder6AnyOrderDecodes(t *testing.T) {
	img := joined6()
	b := img.Encode()
	img.JoinOrder6 = false
	bare := mfJoin(slices.DeleteFunc(mfSplit(t, b), func(a mfAttr) bool { return a.typ == image.AttrMembershipOrder6 }))
	back, err := image.Decode(bare)
	if err != nil {
		t.Fatal(err)
	}
	if back.JoinOrder6 {
		t.Error("JoinOrder6 without the flag")
	}
	if got, want := back.Encode(), img.Encode(); !bytes.Equal(got, want) {
		t.Errorf("an unflagged list out of order re-encodes as\n% x\nwant the canonical\n% x", got, want)
	}
}

// Decode refuses the flag where it does not belong, repeated, with a
// payload or nested, and in an image of table revision 1.
func TestJoinOrder6StrictDecode(t *testing.T) {
	b := joined6().Encode()
	flag := func(f func(a []mfAttr, i int) []mfAttr) []byte {
		a := mfSplit(t, b)
		return mfJoin(f(a, mfIndex(t, a, image.AttrMembershipOrder6)))
	}
	v4 := mfPut(slices.Clone(mfBasesUDP(t)), image.AttrMembershipOrder6, nil)
	tcp6 := func() []byte {
		img := v6Image()
		img.Type, img.Protocol, img.Memberships, img.Values = unix.SOCK_STREAM, unix.IPPROTO_TCP, nil, v6Values(unix.SOCK_STREAM)
		img.Peer, img.Flowinfo, img.State = netip.MustParseAddrPort("[::]:0"), 0, 7
		img.Values[mfID(t, "tcpopt/congestion")] = image.Value{Bytes: []byte("reno")}
		if _, err := image.Decode(img.Encode()); err != nil {
			t.Fatalf("the AF_INET6 TCP image without the flag: %v", err)
		}
		return mfPut(img.Encode(), image.AttrMembershipOrder6, nil)
	}()
	rev1 := func(order bool) []byte {
		img := joined6()
		img.Revision, img.JoinOrder6 = 1, order
		return img.Encode()
	}
	if _, err := image.Decode(rev1(false)); err != nil {
		t.Fatalf("the revision 1 image without the flag: %v", err)
	}
	for _, c := range []struct {
		name   string
		b      []byte
		reason string
	}{
		{"on an AF_INET image", v4, "does not apply"},
		{"on an AF_INET6 TCP image", tcp6, "does not apply"},
		{"repeated", flag(func(a []mfAttr, i int) []mfAttr { return slices.Insert(a, i, a[i]) }), "repeated"},
		{"with a payload", flag(func(a []mfAttr, i int) []mfAttr { a[i].data = []byte{1, 0, 0, 0}; return a }), "no payload"},
		{"nested", flag(func(a []mfAttr, i int) []mfAttr { a[i].typ |= 0x8000; return a }), "not a nested"},
		{"in a revision 1 image", rev1(true), "revision 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := image.Decode(c.b)
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", img)
			}
			var ae *image.AttrError
			if !errors.As(err, &ae) || !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("error %T %v is not an *AttrError (EINVAL)", err, err)
			}
			if ae.Attr != "IP6OPT_MEMBERSHIP_ORDER" || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q, want one naming IP6OPT_MEMBERSHIP_ORDER that says %q", err, c.reason)
			}
		})
	}
	// Validate refuses it too, on an image built in memory.
	img := jsonSampleImage(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7)
	if err := img.Validate(); err != nil {
		t.Fatalf("the AF_INET image without JoinOrder6: %v", err)
	}
	img.JoinOrder6 = true
	if err := img.Validate(); err == nil || !strings.Contains(err.Error(), "IP6OPT_MEMBERSHIP_ORDER") {
		t.Errorf("Validate of an AF_INET image with JoinOrder6: %v, want an error naming IP6OPT_MEMBERSHIP_ORDER", err)
	}
}

// The JSON form says "membership6_order":"join", keeps the IPv6 list's
// order through a round trip, and refuses another value or the key on a
// socket without IPv6 groups.
func TestJoinOrder6JSON(t *testing.T) {
	img := joined6()
	js, err := img.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	if !strings.Contains(s, `"membership6_order":"join"`) || strings.Contains(s, `"membership_order"`) {
		t.Errorf("JSON lacks \"membership6_order\":\"join\" or has the IPv4 list's flag:\n%s", s)
	}
	if c, a := strings.Index(s, `"ff15::c"`), strings.Index(s, `"ff15::a"`); c < 0 || a < c {
		t.Errorf("JSON lists ff15::a before ff15::c: not the join order:\n%s", s)
	}
	back, err := image.DecodeJSON(js)
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if !back.JoinOrder6 || !bytes.Equal(back.Encode(), img.Encode()) {
		t.Errorf("JSON round trip: JoinOrder6 %v, encodings equal %v", back.JoinOrder6, bytes.Equal(back.Encode(), img.Encode()))
	}
	img.JoinOrder6 = false
	plain, err := img.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "membership6_order") {
		t.Errorf("JSON of a canonical list says an order:\n%s", plain)
	}

	v4, err := jsonSampleImage(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, js string }{
		{"another value", strings.Replace(s, `"membership6_order":"join"`, `"membership6_order":"canonical"`, 1)},
		{"not a string", strings.Replace(s, `"membership6_order":"join"`, `"membership6_order":true`, 1)},
		{"on AF_INET", strings.Replace(string(v4), `,"memberships":`, `,"membership6_order":"join","memberships":`, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(c.js, "membership6_order") {
				t.Fatalf("the case has no membership6_order: %s", c.js)
			}
			_, err := image.DecodeJSON([]byte(c.js))
			var ae *image.AttrError
			if !errors.As(err, &ae) || ae.Attr != "membership6_order" {
				t.Errorf("error %v, want one naming membership6_order", err)
			}
		})
	}
}

// Diff compares memberships as sets: a list in join order against one in
// canonical order lists only what differs.
func TestDiffJoinOrder(t *testing.T) {
	before := joined6()
	before.JoinOrder = true
	want := before.Clone()
	want.JoinOrder6, want.JoinOrder = false, false
	want.Memberships = slices.DeleteFunc(want.Memberships, func(m image.Membership) bool { return m.Group.String() == "ff15::c" })
	want.Canonicalize()
	d := image.Diff(before, want)
	if len(d) != 1 || d[0].Path != "membership/ff15::c@3" || d[0].New != "" {
		t.Errorf("Diff %+v, want membership/ff15::c@3 left, nothing else", d)
	}
}
