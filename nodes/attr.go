package nodes

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Modes of the tree's nodes. Option, membership and image files can be
// written; info can only be read; the root cannot be changed.
const (
	modeRoot = syscall.S_IFDIR | 0o555
	modeDir  = syscall.S_IFDIR | 0o755
	modeFile = syscall.S_IFREG | 0o644
	modeInfo = syscall.S_IFREG | 0o444
)

// fill sets the attributes of a node whose content is data.
func fill(out *fuse.Attr, mode uint32, size int, uid uint32, nlink uint32, ts fileState) {
	out.Mode = mode
	out.Size = uint64(size)
	out.Nlink = nlink
	out.Uid = uid
	out.Gid = 0
	out.Blksize = 4096
	out.Blocks = (uint64(size) + 511) / 512
	out.SetTimes(&ts.atime, &ts.mtime, &ts.ctime)
}

// dots are a listing's "." and "..", for ls -a; go-fuse keeps them out of
// the tree.
func dots(self, parent uint64) []fuse.DirEntry {
	return []fuse.DirEntry{
		{Name: ".", Mode: syscall.S_IFDIR, Ino: self},
		{Name: "..", Mode: syscall.S_IFDIR, Ino: parent},
	}
}

// checkOwnerMode accepts what tar -x and cp -a do to an existing node: a
// chown or chmod to the values it already has. Anything else is EPERM: a
// node's owner is its socket's and its mode is fixed.
func checkOwnerMode(in *fuse.SetAttrIn, mode, uid uint32) syscall.Errno {
	if m, ok := in.GetMode(); ok && m&0o7777 != mode&0o7777 {
		return syscall.EPERM
	}
	if u, ok := in.GetUID(); ok && u != uid {
		return syscall.EPERM
	}
	if g, ok := in.GetGID(); ok && g != 0 {
		return syscall.EPERM
	}
	return 0
}
