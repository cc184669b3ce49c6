package stock_test

import (
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// asRevision1 is the image as inetcr made it before the option coverage:
// table revision 1, without the rows added since, encoded and decoded.
func asRevision1(t *testing.T, img *image.Image) *image.Image {
	t.Helper()
	old := img.Clone()
	old.Revision = 1
	for _, o := range image.Options {
		if o.Since > 1 {
			delete(old.Values, o.Attr)
		}
	}
	dec, err := image.Decode(old.Encode())
	if err != nil {
		t.Fatalf("revision-1 image: %v", err)
	}
	if dec.Rev() != 1 {
		t.Fatalf("decoded revision %d, want 1", dec.Rev())
	}
	return dec
}

// An image made before the option coverage restores as it did: the
// options it does not know stay as the target socket has them, whatever
// they are, and what it knows is restored.
func TestRevision1ImageLeavesNewRows(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	for _, c := range []struct {
		kind string
		set  []call
	}{
		{"udp", []call{
			{unix.SOL_UDP, unix.UDP_SEGMENT, 1400}, {unix.SOL_UDP, unix.UDP_GRO, 1},
			{unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD, 26}, {unix.SOL_SOCKET, unix.SO_BUSY_POLL, 50},
			{unix.SOL_SOCKET, unix.SO_INCOMING_CPU, 1}, {attachFilter, 0, []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		}},
		{"tcp", []call{
			{unix.SOL_TCP, unix.TCP_NODELAY, 1}, {unix.SOL_TCP, unix.TCP_KEEPIDLE, 77}, {unix.SOL_TCP, unix.TCP_CONGESTION, []byte("reno")},
			{unix.SOL_TCP, unix.TCP_USER_TIMEOUT, 5000}, {unix.SOL_SOCKET, unix.SO_TIMESTAMP_NEW, 1},
		}},
	} {
		src := h.Socket(c.kind)
		src.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 33)
		old := asRevision1(t, netnstest.Dump(t, st, src.Inode))

		dst := h.Socket(c.kind)
		if !doCalls(dst, c.set) {
			t.Fatalf("%s: the kernel refused %v", c.kind, c.set)
		}
		before := netnstest.Dump(t, st, dst.Inode)
		if err := st.Restore(dst.Inode, old); err != nil {
			t.Fatalf("%s: restore of a revision-1 image: %v", c.kind, err)
		}
		after := netnstest.Dump(t, st, dst.Inode)
		for _, o := range image.OptionsFor(after.Family, after.Type) {
			if o.Since <= 1 || o.ExactOnly {
				continue // an exact-only row is not in the stock reader's images at all
			}
			if b, a := o.Format(before.Values[o.Attr]), o.Format(after.Values[o.Attr]); a != b {
				t.Errorf("%s: %s was %s, the revision-1 image changed it to %s", c.kind, o.Path(), b, a)
			}
			if got, want := holderValue(t, dst, o), o.Format(before.Values[o.Attr]); got != want {
				t.Errorf("%s: getsockopt in the holder reads %s %s, it was %s", c.kind, o.Path(), got, want)
			}
		}
		if got := dst.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 33 {
			t.Errorf("%s: IP_TTL %d after the restore, the image has 33", c.kind, got)
		}
	}
}
