package nodes

import (
	"context"
	"slices"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// optionDir is ipopt/, sockopt/ or another directory of the option
// table: one file per row of the option table
// that applies to the socket's family and type (image.OptionsFor), sorted
// by name.
type optionDir struct {
	fs.Inode
	refuse
	t   *Tree
	ino uint64
	dir string // the rows' Dir: "ipopt", "sockopt", ...
}

var (
	_ = (fs.NodeLookuper)((*optionDir)(nil))
	_ = (fs.NodeReaddirer)((*optionDir)(nil))
	_ = (fs.NodeGetattrer)((*optionDir)(nil))
	_ = (fs.NodeSetattrer)((*optionDir)(nil))
	_ = (fs.NodeCreater)((*optionDir)(nil))
	_ = (fs.NodeUnlinker)((*optionDir)(nil))
)

// options lists the rows of this directory for the socket, by name.
func (d *optionDir) options(s *sock) []*image.Option {
	var out []*image.Option
	for _, o := range image.SharedOptionsFor(s.kind()) {
		if o.Dir == d.dir && d.t.reads(o) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *image.Option) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// reads reports whether the backend's images carry row o: a row only the
// exact reader sees (ExactOnly) has no file under another backend, whose
// images leave it out.
func (t *Tree) reads(o *image.Option) bool {
	return !o.ExactOnly || t.b.Name() == "exact"
}

// option finds the row for a file name, if it applies to the socket.
func (d *optionDir) option(s *sock, name string) (*image.Option, bool) {
	o, ok := image.LookupOption(d.dir, name)
	if !ok || !o.Types.Has(s.kind()) || !d.t.reads(o) {
		return nil, false
	}
	return o, true
}

func (d *optionDir) attr(s *sock, out *fuse.Attr) {
	var names []string
	for _, o := range d.options(s) {
		names = append(names, o.Name)
	}
	fill(out, s.mode(modeDir), 0, s.owner(), 2, s.observe(d.dir, []byte(strings.Join(names, "\n"))))
}

func (d *optionDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return d.t.dirGetattr(d.ino, out, infallible(d.attr))
}

func (d *optionDir) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return d.t.dirSetattr(d.ino, d.dir, in, out, infallible(d.attr))
}

func (d *optionDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, errno(err)
	}
	pid := callerPid(ctx)
	out := dots(s.stable(d.dir, syscall.S_IFDIR).Ino, s.stable("", syscall.S_IFDIR).Ino)
	for _, o := range d.options(s) {
		if s.isHidden(o.Path(), pid) {
			continue
		}
		out = append(out, fuse.DirEntry{Name: o.Name, Mode: syscall.S_IFREG, Ino: s.stable(o.Path(), syscall.S_IFREG).Ino})
	}
	return fs.NewListDirStream(out), 0
}

func (d *optionDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, errno(err)
	}
	o, ok := d.option(s, name)
	if !ok || s.isHidden(o.Path(), callerPid(ctx)) {
		return nil, syscall.ENOENT
	}
	return d.child(ctx, s, o, out)
}

func (d *optionDir) child(ctx context.Context, s *sock, o *image.Option, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n := newOptionFile(d.t, d.ino, o)
	if e := n.attr(s, &out.Attr, n.content); e != 0 {
		return nil, e
	}
	d.t.entry(out, true)
	return d.NewInode(ctx, n, s.stable(o.Path(), syscall.S_IFREG)), 0
}

// Create brings back an option file this process unlinked and opens it
// for writing: tar -x's unlink and retry becomes an overwrite. Any other
// name cannot be made.
func (d *optionDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	o, ok := d.option(s, name)
	if !ok {
		return nil, nil, 0, syscall.EPERM
	}
	return recreate(ctx, &d.Inode, s, o.Path(), flags, out, func() (fs.InodeEmbedder, *fileBase, contentFunc) {
		n := newOptionFile(d.t, d.ino, o)
		return n, &n.fileBase, n.content
	})
}

// Unlink changes nothing on the socket: the file is hidden from the
// calling process until it creates it again (docs/tree.md).
func (d *optionDir) Unlink(ctx context.Context, name string) syscall.Errno {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return errno(err)
	}
	o, ok := d.option(s, name)
	if !ok {
		return syscall.ENOENT
	}
	s.hide(o.Path(), callerPid(ctx))
	return 0
}

// recreate is Create of a fixed file (an option file, image.bin, info):
// the file exists all along, so O_EXCL fails with EEXIST unless the caller
// unlinked it; the file is opened with the flags of the create.
func recreate(ctx context.Context, parent *fs.Inode, s *sock, path string, flags uint32, out *fuse.EntryOut, mk func() (fs.InodeEmbedder, *fileBase, contentFunc)) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if !s.unhide(path, callerPid(ctx)) && flags&syscall.O_EXCL != 0 {
		return nil, nil, 0, syscall.EEXIST
	}
	node, base, content := mk()
	if e := base.attr(s, &out.Attr, content); e != 0 {
		return nil, nil, 0, e
	}
	s.t.entry(out, true)
	h, fopen, e := base.open(ctx, flags, content)
	if e != 0 {
		return nil, nil, 0, e
	}
	if path == imagePath {
		h.buffered = flags&syscall.O_ACCMODE != syscall.O_RDONLY
		h.appending = flags&syscall.O_APPEND != 0
	}
	return parent.NewInode(ctx, node, s.stable(path, syscall.S_IFREG)), h, fopen, 0
}
