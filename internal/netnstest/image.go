package netnstest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// Dumper is a backend as far as Dump goes.
type Dumper interface {
	Dump(inode uint64) (*image.Image, error)
}

// Dump dumps a socket through b and fails the test on error.
func Dump(t testing.TB, b Dumper, inode uint64) *image.Image {
	t.Helper()
	img, err := b.Dump(inode)
	if err != nil {
		t.Fatalf("dump %d: %v", inode, err)
	}
	return img
}

// describe renders an image one option a line, so a failing comparison
// shows which value differs rather than which byte.
func describe(img *image.Image) []string {
	out := []string{fmt.Sprintf("family=%d type=%d proto=%d state=%d local=%s peer=%s flowinfo=%d", img.Family, img.Type, img.Protocol, img.State, img.Local, img.Peer, img.Flowinfo)}
	for _, o := range image.SharedOptionsFor(img.Family, img.Type) {
		out = append(out, o.Path()+"="+o.Format(img.Values[o.Attr]))
	}
	for _, m := range img.Memberships {
		out = append(out, fmt.Sprintf("membership %s@%d mode=%d sources=%v", m.Group, m.Ifindex, m.Mode, m.Sources))
	}
	for _, i := range img.Ifindexes() {
		if n, ok := img.Ifnames[i]; ok {
			out = append(out, fmt.Sprintf("ifname %d=%s", i, n))
		}
	}
	return out
}

// SameImage fails the test when two images' encodings differ, showing the
// values that do.
func SameImage(t testing.TB, what string, want, got *image.Image) {
	t.Helper()
	if !bytes.Equal(want.Encode(), got.Encode()) {
		t.Fatalf("%s: images differ (-want +got):\n%s", what, cmp.Diff(describe(want), describe(got)))
	}
}
