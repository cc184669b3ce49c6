package image_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// namedImage is a UDP image with memberships on ifindex 2 and 5 and
// unicast_if 5, names given for both.
func namedImage() *image.Image {
	img := &image.Image{Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 7,
		Local: netip.MustParseAddrPort("0.0.0.0:5000"), Peer: netip.MustParseAddrPort("0.0.0.0:0"),
		Values: map[uint16]image.Value{},
		Memberships: []image.Membership{
			{Group: netip.MustParseAddr("239.1.1.1"), Address: netip.IPv4Unspecified(), Ifindex: 2},
			{Group: netip.MustParseAddr("239.1.1.2"), Address: netip.IPv4Unspecified(), Ifindex: 5, Mode: image.ModeInclude, Sources: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
		},
		Ifnames: map[int32]string{2: "eth0", 5: "veth1", 9: "unused"},
	}
	for _, o := range image.OptionsFor(img.Family, img.Type) {
		v := image.Value{Num: o.Min}
		if o.Kind == image.InAddr {
			v = image.Value{Bytes: make([]byte, 4)}
		}
		if o.Kind == image.IfIndexBE {
			v.Num = 5
		}
		img.Values[o.Attr] = v
	}
	return img
}

// Names travel in the binary and the JSON form, for the indexes the image
// holds only, and come back the same.
func TestIfnamesRoundTrip(t *testing.T) {
	img := namedImage()
	b := img.Encode()
	back, err := image.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]string{2: "eth0", 5: "veth1"}
	if len(back.Ifnames) != len(want) || back.Ifnames[2] != "eth0" || back.Ifnames[5] != "veth1" {
		t.Fatalf("decoded names %v, want %v", back.Ifnames, want)
	}
	if string(back.Encode()) != string(b) {
		t.Error("decode and encode changed the bytes")
	}
	js, err := back.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"interfaces":{"2":"eth0","5":"veth1"}`) {
		t.Errorf("JSON has no interfaces: %s", js)
	}
	fromJSON, err := image.DecodeJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if string(fromJSON.Encode()) != string(b) {
		t.Error("JSON round trip changed the image")
	}
}

// A malformed IFNAMES is refused naming it.
func TestIfnamesRefused(t *testing.T) {
	base := namedImage()
	base.Ifnames = nil
	plain := base.Encode()
	rev := plain[len(plain)-8:] // TABLE_REVISION, the last attribute
	body := plain[:len(plain)-8]
	entry := func(i uint32, name string) []byte {
		return image.AppendAttr(nil, image.AttrIfname, append(mfU32(i), name...))
	}
	nested := func(entries ...[]byte) []byte {
		var p []byte
		for _, e := range entries {
			p = append(p, e...)
		}
		return image.AppendAttr(nil, image.AttrIfnames|0x8000, p)
	}
	for _, c := range []struct {
		name, want string
		b          []byte
	}{
		{"index not held", "does not hold", nested(entry(3, "eth0"))},
		{"descending", "ascending", nested(entry(5, "a"), entry(2, "b"))},
		{"twice", "ascending", nested(entry(2, "a"), entry(2, "b"))},
		{"empty name", "length 4", nested(entry(2, ""))},
		{"name too long", "length 20", nested(entry(2, "abcdefghijklmnop"))},
		{"slash in name", "printable", nested(entry(2, "a/b"))},
		{"empty list", "empty", nested()},
		{"not nested", "nested", image.AppendAttr(nil, image.AttrIfnames, entry(2, "a"))},
		{"other entry", "only IFNAME", nested(image.AppendAttr(nil, 92, []byte{1, 2, 3, 4}))},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := append(append(append([]byte(nil), body...), c.b...), rev...)
			_, err := image.Decode(b)
			var ae *image.AttrError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "IFNAME") {
				t.Fatalf("got %v, want an IFNAME error with %q", err, c.want)
			}
		})
	}
	old := base.Clone()
	old.Revision = 1
	b := append(old.Encode(), nested(entry(2, "eth0"))...)
	if _, err := image.Decode(b); err == nil || !strings.Contains(err.Error(), "revision") {
		t.Errorf("names in a revision-1 image: %v", err)
	}
}

// Rebase moves every named index to the index its name has in the
// target's namespace, and refuses a name that is not there, naming it.
func TestIfnamesRebase(t *testing.T) {
	img := namedImage()
	there := map[string]int32{"eth0": 7, "veth1": 3}
	got, err := img.Rebase(func(n string) (int32, bool) { i, ok := there[n]; return i, ok }, "net:[1]")
	if err != nil {
		t.Fatal(err)
	}
	if got.Memberships[0].Ifindex != 3 || got.Memberships[1].Ifindex != 7 || got.Memberships[0].Group.String() != "239.1.1.2" {
		t.Errorf("memberships %+v", got.Memberships)
	}
	uni, _ := image.LookupOption("ipopt", "unicast_if")
	if got.Values[uni.Attr].Num != 3 {
		t.Errorf("unicast_if %d, want 3", got.Values[uni.Attr].Num)
	}
	if got.Ifnames[7] != "eth0" || got.Ifnames[3] != "veth1" {
		t.Errorf("names %v", got.Ifnames)
	}
	if img.Memberships[0].Ifindex != 2 {
		t.Error("Rebase changed its receiver")
	}
	_, err = img.Rebase(func(n string) (int32, bool) { return 1, n == "eth0" }, "net:[1]")
	var me *image.MissingInterfaceError
	if !errors.As(err, &me) || me.Name != "veth1" || !strings.Contains(err.Error(), `"veth1"`) {
		t.Errorf("missing name: %v", err)
	}
}
