package stock_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// notSettableHere lists the rows of which this kernel takes no value but
// the default, on a socket type or on every one, and why. The walk below
// fails for a row it cannot set that is not listed, and for a listed row
// it can set.
var notSettableHere = map[string]string{
	"sockopt/reserve_mem":      "SO_RESERVE_MEM needs the socket charged to a memory cgroup; EOPNOTSUPP otherwise",
	"udplite sockopt/zerocopy": "SO_ZEROCOPY is TCP's and UDP's; UDP-Lite refuses it (EOPNOTSUPP)",
	"udp udpopt/send_cscov":    "UDPLITE_SEND_CSCOV is UDP-Lite's; UDP reads 0 and refuses it (ENOPROTOOPT)",
	"udp udpopt/recv_cscov":    "UDPLITE_RECV_CSCOV is UDP-Lite's; UDP reads 0 and refuses it (ENOPROTOOPT)",
}

// The table walked: for every row and socket type, a program (the
// holder) sets the option to a value other than a fresh socket's; the
// dump agrees with getsockopt in the holder; the image, encoded and
// decoded, is restored onto a fresh socket of the same type; and
// getsockopt in that socket's holder reads the same value.
func TestEveryRowClones(t *testing.T) {
	ifindex := netnstest.Veth(t, "kcl", "10.72.0.1/24")
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	rows := 0
	for _, kind := range []string{"udp", "udplite", "tcp", "raw17"} {
		typ := map[string]uint16{"udp": unix.SOCK_DGRAM, "udplite": unix.SOCK_DGRAM, "tcp": unix.SOCK_STREAM, "raw17": unix.SOCK_RAW}[kind]
		for _, o := range image.OptionsFor(unix.AF_INET, typ) {
			if o.ExactOnly {
				continue // the stock reader cannot read it (the exact reader's tests clone it)
			}
			name := kind + " " + o.Path()
			why, excused := notSettableHere[name]
			if !excused {
				why, excused = notSettableHere[o.Path()]
			}
			carried := cloneOneRow(t, st, h, kind, o, ifindex)
			switch {
			case !carried && !excused:
				t.Errorf("%s: the kernel took no value but a fresh socket's, and the row is not listed as such", name)
			case carried && excused:
				t.Errorf("%s: listed as not settable here (%s), but a program set it", name, why)
			case carried:
				rows++
			}
		}
	}
	t.Logf("%d rows set, dumped, cloned and read back in the clone's holder", rows)
}

// cloneOneRow tries the row's kernel states until one differs from a
// fresh socket's, and clones that one. It reports whether it found one.
func cloneOneRow(t *testing.T, st *stock.Stock, h *netnstest.Holder, kind string, o *image.Option, ifindex int) bool {
	t.Helper()
	probe := h.Socket(kind)
	fresh := holderValue(t, probe, o)
	probe.Close()
	for _, calls := range kernelStates(o, ifindex) {
		src := h.Socket(kind)
		if !doCalls(src, calls) {
			src.Close()
			continue
		}
		set := holderValue(t, src, o)
		if set == fresh {
			src.Close()
			continue
		}
		what := kind + " " + o.Path() + " " + set
		img, err := st.Dump(src.Inode)
		if err != nil {
			t.Fatalf("%s: dump: %v", what, err)
		}
		if got := o.Format(img.Values[o.Attr]); got != set {
			t.Errorf("%s: the dump says %q", what, got)
		}
		dec, err := image.Decode(img.Encode())
		if err != nil {
			t.Fatalf("%s: the dump does not decode: %v", what, err)
		}
		dst := h.Socket(kind)
		if err := st.Restore(dst.Inode, dec); err != nil {
			t.Errorf("%s: restore onto a fresh socket: %v", what, err)
		} else if got := holderValue(t, dst, o); got != set {
			t.Errorf("%s: getsockopt in the clone's holder reads %q", what, got)
		}
		src.Close()
		dst.Close()
		return true
	}
	return false
}

// doCalls makes a state's calls in the holder; false when the kernel
// refuses one.
func doCalls(s *netnstest.Sock, calls []call) bool {
	for _, c := range calls {
		if doCall(s, c) != nil {
			return false
		}
	}
	return true
}

// SO_LOCK_FILTER never comes off. A restore sets it after every other
// step has succeeded, so a restore that fails leaves no lock behind; and
// a socket whose filter is locked refuses, before anything changes, an
// image that would unlock it or change its filter.
func TestLockFilterLastAndRefused(t *testing.T) {
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	ret := []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff} // ret #-1
	lenRet := []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0x16, 0, 0, 0, 0, 0, 0, 0}

	// A filter, the lock and a port another socket holds: the bind
	// fails, and the socket has neither filter nor lock.
	taken := h.Socket("udp")
	taken.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 47002})
	src := h.Socket("udp")
	if err := src.AttachFilter(ret); err != nil {
		t.Fatal(err)
	}
	src.SetInt(unix.SOL_SOCKET, unix.SO_LOCK_FILTER, 1)
	src.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 9)
	img := netnstest.Dump(t, st, src.Inode)
	img.Local = netip.MustParseAddrPort("127.0.0.1:47002")
	dst := h.Socket("udp")
	err := st.Restore(dst.Inode, img)
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("restore onto a taken port: %v, want EADDRINUSE", err)
	}
	if got := dst.GetInt(unix.SOL_SOCKET, unix.SO_LOCK_FILTER); got != 0 {
		t.Errorf("the failed restore left SO_LOCK_FILTER %d", got)
	}
	if got := dst.GetFilter(); len(got) != 0 {
		t.Errorf("the failed restore left the filter %x", got)
	}
	if got := dst.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got == 9 {
		t.Errorf("the failed restore left IP_TTL 9")
	}

	// The same image on a free port: filter and lock, last.
	img.Local = netip.MustParseAddrPort("127.0.0.1:0")
	if err := st.Restore(dst.Inode, img); err != nil {
		t.Fatal(err)
	}
	if dst.GetInt(unix.SOL_SOCKET, unix.SO_LOCK_FILTER) != 1 || !bytes.Equal(dst.GetFilter(), ret) {
		t.Fatalf("restored: lock %d, filter %x", dst.GetInt(unix.SOL_SOCKET, unix.SO_LOCK_FILTER), dst.GetFilter())
	}

	// Now locked: an image that unlocks, or changes the filter, is
	// refused before anything changes.
	before := netnstest.Dump(t, st, dst.Inode)
	for _, c := range []struct {
		path, text, want string
	}{
		{"sockopt/lock_filter", "0", "SOCKOPT_LOCK_FILTER: is on, and the kernel lets nobody turn it off"},
		{"sockopt/filter", hex.EncodeToString(lenRet), "SOCKOPT_FILTER: cannot change: SOCKOPT_LOCK_FILTER is on"},
		{"sockopt/filter", "", "SOCKOPT_FILTER: cannot change"},
	} {
		want := before.Clone()
		dir, name, _ := strings.Cut(c.path, "/")
		setText(t, want, dir, name, c.text)
		setText(t, want, "ipopt", "ttl", "77")
		err := st.Restore(dst.Inode, want)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q onto a locked socket: %v, want %q", c.path, c.text, err, c.want)
		}
		netnstest.SameImage(t, "after the refused "+c.path, before, netnstest.Dump(t, st, dst.Inode))
	}
}
