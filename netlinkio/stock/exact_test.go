package stock_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// A value the kernel clamps or rounds is refused (the read-back differs),
// and the set's own effect is undone: the socket is byte-identical to
// before, side effects (the buffer locks, TCP's rcvbuf) included.
func TestClampedValueChangesNothing(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	cases := []struct{ kind, dir, name, text string }{
		{"udp", "sockopt", "rcvtimeo", "1"},
		{"udp", "sockopt", "sndtimeo", "4001"},
		{"udp", "sockopt", "sndbuf", "2"},
		{"udp", "sockopt", "rcvbuf", "100"},
		{"tcp", "sockopt", "rcvbuf", "100"},
		{"tcp", "sockopt", "rcvlowat", "1073741824"},
		{"tcp", "ipopt", "tos", "3"},
		{"raw17", "sockopt", "sndbuf", "2"},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.name+" "+c.text, func(t *testing.T) {
			s := h.Socket(c.kind)
			before := netnstest.Dump(t, st, s.Inode)
			img := before.Clone()
			setText(t, img, c.dir, c.name, c.text)
			err := st.Restore(s.Inode, img)
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("restore: %v, want EINVAL (read back differs)", err)
			}
			netnstest.SameImage(t, "after the refused set", before, netnstest.Dump(t, st, s.Inode))
		})
	}
}

// TCP's SO_RCVLOWAT raises SO_RCVBUF (tcp_set_rcvlowat); the row keeps
// rcvbuf, so an accepted change changes rcvlowat only, and an image with
// both restores both.
func TestTCPRcvlowatKeepsRcvbuf(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	s := h.Socket("tcp")
	before := netnstest.Dump(t, st, s.Inode)
	img := before.Clone()
	setText(t, img, "sockopt", "rcvlowat", "100000")
	if err := st.Restore(s.Inode, img); err != nil {
		t.Fatal(err)
	}
	netnstest.SameImage(t, "after setting rcvlowat", img, netnstest.Dump(t, st, s.Inode))

	// A program's own setsockopt raises rcvbuf; its dump restores exactly.
	src := h.Socket("tcp")
	src.SetInt(1, 18, 300000) // SOL_SOCKET, SO_RCVLOWAT
	want := netnstest.Dump(t, st, src.Inode)
	if want.Values[19].Equal(before.Values[19]) {
		t.Fatalf("setsockopt(SO_RCVLOWAT) left rcvbuf at %d; the kernel no longer raises it", want.Values[19].Num)
	}
	fresh := h.Socket("tcp")
	if err := st.Restore(fresh.Inode, want); err != nil {
		t.Fatal(err)
	}
	netnstest.SameImage(t, "restored", want, netnstest.Dump(t, st, fresh.Inode))
}
