package nodes_test

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// fake is an in-memory Backend: sockets are images in a map. Restore
// validates like the engines do and keeps the target's identity.
type fake struct {
	mu    sync.Mutex
	socks map[uint64]*fakeSock
	dumps int
}

type fakeSock struct {
	img    *image.Image
	listed bool
	uid    uint32
}

func newFake() *fake { return &fake{socks: map[uint64]*fakeSock{}} }

func (f *fake) Name() string { return "fake" }
func (f *fake) Close() error { return nil }

// add makes a socket of the given type with the kernel's defaults.
func (f *fake) add(ino uint64, typ, proto uint16, listed bool) {
	any0 := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	img := &image.Image{Family: unix.AF_INET, Type: typ, Protocol: proto, State: 7, Local: any0, Peer: any0, Values: map[uint16]image.Value{}}
	if typ == unix.SOCK_STREAM {
		img.State = 7
	}
	for _, o := range image.OptionsFor(unix.AF_INET, typ) {
		var v image.Value
		switch o.Kind {
		case image.InAddr:
			v.Bytes = []byte{0, 0, 0, 0}
		case image.IfName, image.RawOptions, image.Filter:
			v.Bytes = []byte{}
		case image.Name:
			v.Bytes = []byte("cubic")
		case image.BufSize:
			v.Num = 212992
		case image.U8, image.U32:
			v.Num = o.Min
		}
		switch o.Name {
		case "ttl":
			v.Num = 64
		case "multicast_ttl", "multicast_loop", "multicast_all":
			v.Num = 1
		}
		img.Values[o.Attr] = v
	}
	if err := img.Validate(); err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.socks[ino] = &fakeSock{img: img, listed: listed}
}

func (f *fake) remove(ino uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.socks, ino)
}

func (f *fake) get(ino uint64) *image.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.socks[ino].img.Clone()
}

func (f *fake) set(ino uint64, edit func(*image.Image)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f.socks[ino].img)
}

func (f *fake) value(ino uint64, dir, name string) image.Value {
	o, ok := image.LookupOption(dir, name)
	if !ok {
		panic(name)
	}
	return f.get(ino).Values[o.Attr]
}

func (f *fake) List() ([]image.Socket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []image.Socket
	for ino, s := range f.socks {
		if s.listed {
			out = append(out, image.Socket{Inode: ino, Family: s.img.Family, Type: s.img.Type, Protocol: s.img.Protocol, State: s.img.State, Local: s.img.Local, Peer: s.img.Peer, UID: s.uid})
		}
	}
	slices.SortFunc(out, func(a, b image.Socket) int { return int(a.Inode) - int(b.Inode) })
	return out, nil
}

func (f *fake) gone(op string, ino uint64) error {
	return &image.OpError{Op: op, Inode: ino, Err: image.ErrNoSocket}
}

func (f *fake) Holders(ino uint64) ([]image.Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.socks[ino]; !ok {
		return nil, f.gone("holders", ino)
	}
	return []image.Holder{{Pid: 1, Fd: 3, Comm: "fake"}}, nil
}

func (f *fake) Dump(ino uint64) (*image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dumps++
	s, ok := f.socks[ino]
	if !ok {
		return nil, f.gone("dump", ino)
	}
	c := s.img.Clone()
	c.Canonicalize()
	return c, nil
}

func (f *fake) Hold(ino uint64) (held.Socket, error) {
	return held.ByImage(ino, func() (*image.Image, error) { return f.Dump(ino) }, func(img *image.Image) error { return f.Restore(ino, img) }), nil
}

func (f *fake) Restore(ino uint64, img *image.Image) error {
	if err := img.Validate(); err != nil {
		return &image.OpError{Op: "restore", Inode: ino, Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.socks[ino]
	if !ok {
		return f.gone("restore", ino)
	}
	if img.Type != s.img.Type || img.Protocol != s.img.Protocol {
		return &image.OpError{Op: "restore", Inode: ino, Err: &image.AttrError{Attr: "TYPE", Reason: fmt.Sprintf("type %d/%d, socket is %d/%d", img.Type, img.Protocol, s.img.Type, s.img.Protocol)}}
	}
	for _, m := range img.Memberships {
		if m.Ifindex > 100 {
			return &image.OpError{Op: "restore", Inode: ino, Err: syscall.ENODEV}
		}
	}
	c := img.Clone()
	c.Canonicalize()
	if s.img.Local.IsValid() && s.img.Local.Addr() != netip.IPv4Unspecified() {
		c.Local = s.img.Local
	}
	s.img = c
	return nil
}

var _ netlinkio.Backend = (*fake)(nil)

// memberships waits up to d for socket ino to have want memberships (a
// leave is carried out when the process that unlinked exits, a moment
// after its unlink returned) and returns how many it has.
func (f *fake) memberships(ino uint64, d time.Duration, want int) int {
	deadline := time.Now().Add(d)
	for {
		n := len(f.get(ino).Memberships)
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}
