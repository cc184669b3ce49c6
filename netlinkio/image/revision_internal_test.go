package image

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// withNewerRow adds a row of the revision after this table's (a u32 and a flag) for the length of
// a test, as the next batch of rows will.
func withNewerRow(t *testing.T) (u32, flag *Option) {
	t.Helper()
	saved, savedRev, savedBy := Options, currentRevision, optionsByType
	Options = append(slicesClone(Options),
		Option{Name: "newer_u32", Dir: "sockopt", Attr: 309, Level: unix.SOL_SOCKET, Opt: 1000, Kind: U32, Types: All, Max: 100, Since: TableRevision + 1},
		Option{Name: "newer_flag", Dir: "sockopt", Attr: 308, Level: unix.SOL_SOCKET, Opt: 1001, Kind: Flag, Types: All, Since: TableRevision + 1},
	)
	currentRevision = TableRevision + 1
	optionsByType = byType()
	t.Cleanup(func() { Options, currentRevision, optionsByType = saved, savedRev, savedBy })
	return &Options[len(Options)-2], &Options[len(Options)-1]
}

func slicesClone(o []Option) []Option { return append([]Option(nil), o...) }

func udpImage() *Image { return udpImageOf(0) }

// udpImageOf is udpImage of table revision rev (0: the current one).
func udpImageOf(rev uint32) *Image {
	img := &Image{Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 7,
		Local: netip.MustParseAddrPort("0.0.0.0:5000"), Peer: netip.MustParseAddrPort("0.0.0.0:0"),
		Values: map[uint16]Value{}, Memberships: []Membership{}, Revision: rev}
	for _, o := range OptionsFor(img.Family, img.Type) {
		if img.Knows(o) {
			img.Values[o.Attr] = lowest(o)
		}
	}
	return img
}

// An image made before a row was added decodes with that row unknown, and
// encodes back to the same bytes; one made after carries the row and says
// its revision.
func TestOlderImageLeavesNewerRowsUnknown(t *testing.T) {
	old := udpImageOf(1).Encode() // revision 1: no TABLE_REVISION
	attrs, err := ParseAttrs(old, "image")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		if a.Type == AttrTableRevision {
			t.Fatalf("a revision-1 image carries TABLE_REVISION: % x", old)
		}
	}
	u32, flag := withNewerRow(t)

	img, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	if img.Rev() != 1 || img.Knows(u32) || img.Knows(flag) {
		t.Fatalf("revision %d, knows u32 %v, flag %v: want 1, false, false", img.Rev(), img.Knows(u32), img.Knows(flag))
	}
	if _, ok := img.Values[flag.Attr]; ok {
		t.Fatal("an unknown flag was read as off")
	}
	if got := img.Encode(); string(got) != string(old) {
		t.Fatalf("re-encoded revision-1 image differs:\n% x\n% x", got, old)
	}
	now := udpImage()
	now.Values[u32.Attr] = Value{Num: 7}
	now.Values[flag.Attr] = Value{Num: 1}
	for _, c := range Diff(now, img) {
		if c.Path == u32.Path() || c.Path == flag.Path() {
			t.Errorf("restoring the old image would change %s", c.Path)
		}
	}
	js, err := img.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "newer_") || strings.Contains(string(js), "table_revision") {
		t.Errorf("the JSON of a revision-1 image shows rows it does not know or a revision: %s", js)
	}
	var fromJSON Image
	if err := fromJSON.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	if fromJSON.Rev() != 1 || string(fromJSON.Encode()) != string(old) {
		t.Errorf("JSON round trip: revision %d, bytes equal %v", fromJSON.Rev(), string(fromJSON.Encode()) == string(old))
	}
	cur := now.Encode()
	back, err := Decode(cur)
	if err != nil {
		t.Fatal(err)
	}
	if back.Rev() != TableRevision+1 || back.Values[u32.Attr].Num != 7 || back.Values[flag.Attr].Num != 1 {
		t.Fatalf("current image: revision %d, u32 %v, flag %v", back.Rev(), back.Values[u32.Attr], back.Values[flag.Attr])
	}
}

// An image may not carry a row newer than its revision, nor name a
// revision this reader does not know, nor spell revision 1 out.
func TestRevisionRefusals(t *testing.T) {
	u32, _ := withNewerRow(t)
	old := udpImageOf(1)
	bad := AppendAttr(old.Encode(), u32.Attr, []byte{1, 0, 0, 0})
	next := TableRevision + 1
	cases := map[string][]byte{
		fmt.Sprintf("added in table revision %d, but the image is of revision 1", next): bad,
		fmt.Sprintf("%d; this reader knows revisions 1 to %d", next+1, next):            AppendAttr(udpImage().Encode()[:len(udpImage().Encode())-8], AttrTableRevision, []byte{byte(next + 1), 0, 0, 0}),
		"1; an image of revision 1 leaves it out":                                       AppendAttr(old.Encode(), AttrTableRevision, []byte{1, 0, 0, 0}),
	}
	for want, b := range cases {
		_, err := Decode(b)
		var ae *AttrError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an AttrError with %q", err, want)
		}
	}
}

// lowest is the row's least valid value.
func lowest(o *Option) Value {
	if o.Kind == InAddr {
		return Value{Bytes: make([]byte, 4)}
	}
	return Value{Num: o.Min}
}
