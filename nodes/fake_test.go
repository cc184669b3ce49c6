package nodes_test

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/inetcr/inetcr/netlinkio"
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
	img    *netlinkio.Image
	listed bool
	uid    uint32
}

func newFake() *fake { return &fake{socks: map[uint64]*fakeSock{}} }

func (f *fake) Name() string { return "fake" }
func (f *fake) Close() error { return nil }

// add makes a socket of the given type with the kernel's defaults.
func (f *fake) add(ino uint64, typ, proto uint16, listed bool) {
	any0 := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	img := &netlinkio.Image{Family: unix.AF_INET, Type: typ, Protocol: proto, State: 7, Local: any0, Peer: any0, Values: map[uint16]netlinkio.Value{}}
	if typ == unix.SOCK_STREAM {
		img.State = 7
	}
	for _, o := range netlinkio.OptionsFor(typ) {
		var v netlinkio.Value
		switch o.Kind {
		case netlinkio.InAddr:
			v.Bytes = []byte{0, 0, 0, 0}
		case netlinkio.IfName, netlinkio.RawOptions:
			v.Bytes = []byte{}
		case netlinkio.BufSize:
			v.Num = 212992
		case netlinkio.U8, netlinkio.U32:
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

func (f *fake) get(ino uint64) *netlinkio.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.socks[ino].img.Clone()
}

func (f *fake) set(ino uint64, edit func(*netlinkio.Image)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f.socks[ino].img)
}

func (f *fake) value(ino uint64, dir, name string) netlinkio.Value {
	o, ok := netlinkio.LookupOption(dir, name)
	if !ok {
		panic(name)
	}
	return f.get(ino).Values[o.Attr]
}

func (f *fake) List() ([]netlinkio.Socket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netlinkio.Socket
	for ino, s := range f.socks {
		if s.listed {
			out = append(out, netlinkio.Socket{Inode: ino, Type: s.img.Type, Protocol: s.img.Protocol, State: s.img.State, Local: s.img.Local, Peer: s.img.Peer, UID: s.uid})
		}
	}
	slices.SortFunc(out, func(a, b netlinkio.Socket) int { return int(a.Inode) - int(b.Inode) })
	return out, nil
}

func (f *fake) gone(op string, ino uint64) error {
	return &netlinkio.OpError{Op: op, Inode: ino, Err: netlinkio.ErrNoSocket}
}

func (f *fake) Holders(ino uint64) ([]netlinkio.Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.socks[ino]; !ok {
		return nil, f.gone("holders", ino)
	}
	return []netlinkio.Holder{{Pid: 1, Fd: 3, Comm: "fake"}}, nil
}

func (f *fake) Dump(ino uint64) (*netlinkio.Image, error) {
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

func (f *fake) Restore(ino uint64, img *netlinkio.Image) error {
	if err := img.Validate(); err != nil {
		return &netlinkio.OpError{Op: "restore", Inode: ino, Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.socks[ino]
	if !ok {
		return f.gone("restore", ino)
	}
	if img.Type != s.img.Type || img.Protocol != s.img.Protocol {
		return &netlinkio.OpError{Op: "restore", Inode: ino, Err: &netlinkio.AttrError{Attr: "TYPE", Reason: fmt.Sprintf("type %d/%d, socket is %d/%d", img.Type, img.Protocol, s.img.Type, s.img.Protocol)}}
	}
	for _, m := range img.Memberships {
		if m.Ifindex > 100 {
			return &netlinkio.OpError{Op: "restore", Inode: ino, Err: syscall.ENODEV}
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
