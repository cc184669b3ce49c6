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

// socketDir is /inetcr/INODE: image.bin, info, membership/ and the option
// table's directories (ipopt/, sockopt/, ...), owned by the socket's uid.
type socketDir struct {
	fs.Inode
	refuse
	t   *Tree
	ino uint64
}

var (
	_ = (fs.NodeLookuper)((*socketDir)(nil))
	_ = (fs.NodeReaddirer)((*socketDir)(nil))
	_ = (fs.NodeGetattrer)((*socketDir)(nil))
	_ = (fs.NodeSetattrer)((*socketDir)(nil))
	_ = (fs.NodeCreater)((*socketDir)(nil))
	_ = (fs.NodeUnlinker)((*socketDir)(nil))
)

// socketEntry is one name in a socket's directory.
type socketEntry struct {
	name string
	mode uint32
}

// socketEntries is the directory's content for a socket family and type,
// sorted: the two files, membership/, and the option table's directories
// that have a row for them.
func socketEntries(family, typ uint16) []socketEntry {
	out := []socketEntry{{imagePath, syscall.S_IFREG}, {infoPath, syscall.S_IFREG}, {membershipPath, syscall.S_IFDIR}}
	for _, dir := range image.DirsFor(family, typ) {
		out = append(out, socketEntry{dir, syscall.S_IFDIR})
	}
	slices.SortFunc(out, func(a, b socketEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

func (d *socketDir) attr(s *sock, out *fuse.Attr) {
	var names []string
	for _, e := range socketEntries(s.kind()) {
		names = append(names, e.name)
	}
	fill(out, s.mode(modeDir), 0, s.owner(), uint32(len(names)), s.observe("", []byte(strings.Join(names, " "))))
}

func (d *socketDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return d.t.dirGetattr(d.ino, out, infallible(d.attr))
}

func (d *socketDir) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return d.t.dirSetattr(d.ino, "", in, out, infallible(d.attr))
}

func (d *socketDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, errno(err)
	}
	pid := callerPid(ctx)
	out := dots(s.stable("", syscall.S_IFDIR).Ino, 1)
	for _, e := range socketEntries(s.kind()) {
		if e.mode == syscall.S_IFREG && s.isHidden(e.name, pid) {
			continue
		}
		out = append(out, fuse.DirEntry{Name: e.name, Mode: e.mode, Ino: s.stable(e.name, e.mode).Ino})
	}
	return fs.NewListDirStream(out), 0
}

func (d *socketDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, errno(err)
	}
	var node fs.InodeEmbedder
	mode := uint32(syscall.S_IFDIR)
	switch name {
	case imagePath, infoPath:
		if s.isHidden(name, callerPid(ctx)) {
			return nil, syscall.ENOENT
		}
		node, base, content := d.file(name)
		if e := base.attr(s, &out.Attr, content); e != 0 {
			return nil, e
		}
		d.t.entry(out, true)
		return d.NewInode(ctx, node, s.stable(name, syscall.S_IFREG)), 0
	case membershipPath:
		n := &membershipDir{t: d.t, ino: d.ino}
		if e := n.attr(s, &out.Attr, false); e != 0 {
			return nil, e
		}
		node = n
	default:
		if !slices.Contains(image.DirsFor(s.kind()), name) {
			return nil, syscall.ENOENT
		}
		n := &optionDir{t: d.t, ino: d.ino, dir: name}
		n.attr(s, &out.Attr)
		node = n
	}
	out.SetAttrTimeout(d.t.dirAttr)
	d.t.entry(out, true)
	return d.NewInode(ctx, node, s.stable(name, mode)), 0
}

// file makes the node of image.bin or info.
func (d *socketDir) file(name string) (fs.InodeEmbedder, *fileBase, contentFunc) {
	if name == imagePath {
		n := newImageFile(d.t, d.ino)
		return n, &n.fileBase, n.content
	}
	n := newInfoFile(d.t, d.ino)
	return n, &n.fileBase, n.content
}

// Create brings back image.bin or info after this process unlinked it
// and opens it for writing (docs/tree.md); nothing else can be made.
func (d *socketDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	if name != imagePath && name != infoPath {
		return nil, nil, 0, syscall.EPERM
	}
	return recreate(ctx, &d.Inode, s, name, flags, out, func() (fs.InodeEmbedder, *fileBase, contentFunc) {
		return d.file(name)
	})
}

// Unlink of image.bin or info changes nothing: the file is hidden from
// the calling process until it creates it again (docs/tree.md).
func (d *socketDir) Unlink(ctx context.Context, name string) syscall.Errno {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return errno(err)
	}
	if name != imagePath && name != infoPath {
		return syscall.EPERM
	}
	s.hide(name, callerPid(ctx))
	return 0
}
