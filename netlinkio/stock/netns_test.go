package stock_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// listedAs finds inode in a listing.
func listedAs(socks []image.Socket, inode uint64) (image.Socket, bool) {
	for _, s := range socks {
		if s.Inode == inode {
			return s, true
		}
	}
	return image.Socket{}, false
}

// TestListEveryNamespace: sockets bound to the same port in three network
// namespaces (the test's own, one made by `ip netns add`, a child made by
// unshare) and an unbound one are each listed once, with the namespace
// each lives in; a namespace whose last process exits leaves the listing
// without failing it.
func TestListEveryNamespace(t *testing.T) {
	name := netnstest.NetnsAdd(t, "inetcr-list")
	own := netnstest.NewHolder(t)
	named := netnstest.HolderIn(t, name)
	child := netnstest.ChildHolder(t)
	want := map[uint64]uint64{} // inode -> namespace
	for _, h := range []*netnstest.Holder{own, named, child} {
		s := h.Socket("udp")
		s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 5353})
		want[s.Inode] = netnstest.NetnsIno(t, "/proc/"+strconv.Itoa(h.Pid())+"/ns/net")
	}
	if got, w := netnstest.NetnsIno(t, "/proc/"+strconv.Itoa(named.Pid())+"/ns/net"), netnstest.NetnsIno(t, "/run/netns/"+name); got != w {
		t.Fatalf("ip netns exec ran the holder in net:[%d], not %s's net:[%d]", got, name, w)
	}
	unbound := own.Socket("udp")
	want[unbound.Inode] = netnstest.NetnsIno(t, "/proc/self/ns/net")

	e := stock.NewStock()
	socks, err := e.List()
	if err != nil {
		t.Fatal(err)
	}
	for ino, ns := range want {
		s, ok := listedAs(socks, ino)
		if !ok {
			t.Errorf("socket %d of net:[%d] is not listed", ino, ns)
			continue
		}
		if s.Netns != ns {
			t.Errorf("socket %d: netns %d, want %d", ino, s.Netns, ns)
		}
		port := uint16(5353)
		if ino == unbound.Inode {
			port = 0
		}
		if s.Local.Port() != port || s.State != image.StateClose || s.Type != 2 || s.Protocol != 17 {
			t.Errorf("socket %d listed as %+v", ino, s)
		}
	}
	childNs := netnstest.NetnsIno(t, "/proc/"+strconv.Itoa(child.Pid())+"/ns/net")
	for ino, ns := range want {
		if ns == childNs {
			delete(want, ino)
		}
	}
	child.Stop()
	time.Sleep(400 * time.Millisecond) // past the listing's freshness
	socks, err = e.List()
	if err != nil {
		t.Fatalf("listing after a namespace went away: %v", err)
	}
	for _, s := range socks {
		if s.Netns == childNs {
			t.Errorf("socket %d of the namespace that went away is still listed", s.Inode)
		}
	}
	for ino := range want {
		if _, ok := listedAs(socks, ino); !ok {
			t.Errorf("socket %d is no longer listed", ino)
		}
	}
}
