package nodes

import (
	"context"
	"os"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// rootDir is the mount's root: one directory per socket of the listing,
// named by its decimal inode number, sorted. A socket that sock_diag does
// not list (an unbound one) can still be looked up by its number if some
// process holds it, by a caller who may see that process's descriptors
// (probe.go).
type rootDir struct {
	fs.Inode
	refuse
	t *Tree
}

var (
	_ = (fs.NodeLookuper)((*rootDir)(nil))
	_ = (fs.NodeReaddirer)((*rootDir)(nil))
	_ = (fs.NodeGetattrer)((*rootDir)(nil))
	_ = (fs.NodeSetattrer)((*rootDir)(nil))
	_ = (fs.NodeCreater)((*rootDir)(nil))
	_ = (fs.NodeUnlinker)((*rootDir)(nil))
	_ = (fs.NodeStatfser)((*rootDir)(nil))
)

// parseInode accepts a socket's inode number written as the tree names it.
func parseInode(name string) (uint64, bool) {
	n, err := strconv.ParseUint(name, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != name {
		return 0, false
	}
	return n, true
}

func (r *rootDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ino, ok := parseInode(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	listed, e := r.t.probe(ctx, ino)
	if e != 0 {
		return nil, e
	}
	if !listed && !r.t.inNetns(ino) {
		return nil, syscall.ENOENT
	}
	s, err := r.t.sock(ino)
	if err != nil {
		return nil, errno(err)
	}
	n := &socketDir{t: r.t, ino: ino}
	n.attr(s, &out.Attr)
	out.SetAttrTimeout(r.t.dirAttr)
	r.t.entry(out, listed)
	return r.NewInode(ctx, n, s.stable("", syscall.S_IFDIR)), 0
}

// Readdir lists afresh: one listing per ls. The lookups that READDIRPLUS
// makes for its entries find them in that listing.
func (r *rootDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	l, err := r.t.listing(true)
	if err != nil {
		return nil, errno(err)
	}
	out := make([]fuse.DirEntry, 0, len(l.socks)+2)
	out = append(out, dots(1, 1)...)
	for _, s := range l.socks {
		if !r.t.mayList(ctx, s) {
			continue // an unbound socket not this caller's to name (security.md)
		}
		out = append(out, fuse.DirEntry{Name: strconv.FormatUint(s.Inode, 10), Mode: syscall.S_IFDIR, Ino: s.Inode})
	}
	return fs.NewListDirStream(out), 0
}

// attr fills the root's attributes without a listing (Tree.rootAttr). Its
// link count is 1, which tells find(1) that the number of subdirectories
// is not known, since a count from the last listing could be too low and
// make find skip directories.
func (r *rootDir) attr(out *fuse.Attr) syscall.Errno {
	fill(out, modeRoot, 0, uint32(os.Getuid()), 1, r.t.rootAttr())
	return 0
}

func (r *rootDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.SetTimeout(r.t.dirAttr)
	return r.attr(&out.Attr)
}

func (r *rootDir) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if e := checkOwnerMode(in, modeRoot, uint32(os.Getuid())); e != 0 {
		return e
	}
	r.t.mu.Lock()
	if m, ok := in.GetMTime(); ok {
		r.t.root.mtime = stampOf(m)
	}
	if a, ok := in.GetATime(); ok {
		r.t.root.atime = stampOf(a)
	}
	r.t.mu.Unlock()
	return r.attr(&out.Attr)
}

// Create: sockets are not made by making files.
func (r *rootDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// Unlink: the root holds only directories, and sockets are not closed by
// removing them.
func (r *rootDir) Unlink(ctx context.Context, name string) syscall.Errno {
	return syscall.EPERM
}

func (r *rootDir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize = 4096
	out.Frsize = 4096
	out.NameLen = 255
	return 0
}
