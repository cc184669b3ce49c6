package nodes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// infoFile is info: read-only text about the socket (protocol, state,
// local and peer address, uid, and one line per holder: pid, fd, command).
// It is derived state, so a write to it is accepted and discarded: that is
// what lets tar -x and cp -a put a whole socket directory back (docs/tree.md).
type infoFile struct {
	fileBase
}

var (
	_ = (fs.NodeGetattrer)((*infoFile)(nil))
	_ = (fs.NodeSetattrer)((*infoFile)(nil))
	_ = (fs.NodeOpener)((*infoFile)(nil))
	_ = (fs.NodeReader)((*infoFile)(nil))
	_ = (fs.NodeWriter)((*infoFile)(nil))
	_ = (fs.NodeFsyncer)((*infoFile)(nil))
)

const infoPath = "info"

func newInfoFile(t *Tree, ino uint64) *infoFile {
	return &infoFile{fileBase{t: t, ino: ino, path: infoPath, mode: modeInfo}}
}

func (n *infoFile) content(s *sock, fresh bool) ([]byte, error) {
	img, err := s.image(fresh)
	if err != nil {
		return nil, err
	}
	hs, err := s.holders(fresh)
	if errors.Is(err, image.ErrNoSocket) && s.readOnly() {
		hs, err = nil, nil // unheld: nobody to name
	}
	if err != nil {
		return nil, err
	}
	return []byte(infoText(img, s.owner(), hs) + n.t.whereText(n.ino)), nil
}

func (n *infoFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.getattr(out, n.content)
}

func (n *infoFile) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.setattr(f, in, out, n.content)
}

func (n *infoFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return n.openHandle(ctx, flags, n.content, false)
}

// Write discards the bytes: info cannot be set.
func (n *infoFile) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if _, err := n.t.sock(n.ino); err != nil {
		return 0, errno(err)
	}
	return uint32(len(data)), 0
}

// holders returns the processes that hold the socket, reusing a lookup
// younger than the TTL unless fresh is set.
func (s *sock) holders(fresh bool) ([]image.Holder, error) {
	s.mu.Lock()
	if !fresh && s.t.fresh(s.holdersAt) {
		hs := s.hs
		s.mu.Unlock()
		return hs, nil
	}
	s.mu.Unlock()
	hs, err := s.t.b.Holders(s.ino)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.hs, s.holdersAt = hs, time.Now()
	s.mu.Unlock()
	return hs, nil
}

// infoText is info's content.
func infoText(img *image.Image, uid uint32, hs []image.Holder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "family %s\n", image.FamilyName(img.Family))
	fmt.Fprintf(&b, "protocol %s (%d)\n", image.SocketName(img.Type, img.Protocol), img.Protocol)
	fmt.Fprintf(&b, "state %s\n", image.SSStateName(img.Type, img.State))
	fmt.Fprintf(&b, "local %s\n", image.AddrPortString(img.Local))
	fmt.Fprintf(&b, "peer %s\n", image.AddrPortString(img.Peer))
	fmt.Fprintf(&b, "uid %d\n", uid)
	for _, h := range hs {
		fmt.Fprintf(&b, "holder %d %d %s\n", h.Pid, h.Fd, h.Comm)
	}
	if len(hs) == 0 {
		b.WriteString("holder none (in flight or kernel-held: read-only)\n")
	}
	seen := map[int]bool{}
	for _, h := range hs {
		if !seen[h.Pid] {
			if cg := netlinkio.HolderCgroup(h.Pid); cg != "" {
				fmt.Fprintf(&b, "cgroup %d %s\n", h.Pid, cg)
			}
		}
		seen[h.Pid] = true
	}
	return b.String()
}

// whereText is the lines of info that say where the socket lives and how
// it is doing, from a backend that can tell: its network namespace (and
// its name under /run/netns), its receive queue's use and limit, and the
// packets it dropped.
func (t *Tree) whereText(ino uint64) string {
	var b strings.Builder
	if nb, ok := t.b.(netnsTeller); ok {
		if ns, err := nb.Netns(ino); err == nil {
			fmt.Fprintf(&b, "netns %s", netlinkio.NetnsString(ns))
			if name := netlinkio.NetnsNames()[ns]; name != "" {
				fmt.Fprintf(&b, " %s", name)
			}
			b.WriteByte('\n')
		}
	}
	if mb, ok := t.b.(meminfoTeller); ok {
		if m, err := mb.Meminfo(ino); err == nil {
			fmt.Fprintf(&b, "rcvq %d %d\ndrops %d\n", m.RmemAlloc, m.Rcvbuf, m.Drops)
		}
	}
	return b.String()
}

// netnsTeller and meminfoTeller are backends that tell a socket's
// namespace and memory use (the stock engine, and the family's client
// through it).
type netnsTeller interface {
	Netns(inode uint64) (uint64, error)
}

type meminfoTeller interface {
	Meminfo(inode uint64) (image.Meminfo, error)
}

// inNetns says whether a socket the listing does not show belongs to the
// namespace the tree is limited to (Config.Netns), as far as the backend
// can tell; a tree of every namespace takes every socket.
func (t *Tree) inNetns(ino uint64) bool {
	if t.netns == 0 {
		return true
	}
	nb, ok := t.b.(netnsTeller)
	if !ok {
		return true
	}
	ns, err := nb.Netns(ino)
	return err == nil && ns == t.netns
}
