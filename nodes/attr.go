package nodes

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Modes of the tree's nodes. Everything below a socket's directory belongs
// to the socket's uid and is shut to every other user (root passes the
// kernel's check anyway): a socket's options are its owner's business, as
// its file descriptor is. info is 0600 too although it cannot be set: its
// writes are accepted and discarded, and the owner's tar --overwrite and
// cp -a open it for writing. The root, which lists every socket as
// sock_diag does for any user, cannot be changed (docs/security.md).
const (
	modeRoot = syscall.S_IFDIR | 0o555
	modeDir  = syscall.S_IFDIR | 0o700
	modeFile = syscall.S_IFREG | 0o600
	modeInfo = modeFile
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
	a, m, c := ts.atime.time(), ts.mtime.time(), ts.ctime.time()
	out.SetTimes(&a, &m, &c)
}

// dots are a listing's "." and "..", for ls -a; go-fuse keeps them out of
// the tree.
func dots(self, parent uint64) []fuse.DirEntry {
	return []fuse.DirEntry{
		{Name: ".", Mode: syscall.S_IFDIR, Ino: self},
		{Name: "..", Mode: syscall.S_IFDIR, Ino: parent},
	}
}

// checkOwnerMode accepts what tar -x, cp -a and cp -p do to an existing
// node: a chown to the owner it has, a chmod that keeps the owner's bits.
// The group and other bits of a chmod are accepted and ignored: a socket
// is its owner's alone, and archives and files made with 0644 or 0755
// (older trees, plain files) must still extract and copy. Anything else is
// EPERM: a node's owner is its socket's and its mode is fixed.
func checkOwnerMode(in *fuse.SetAttrIn, mode, uid uint32) syscall.Errno {
	if m, ok := in.GetMode(); ok && m&0o7700 != mode&0o7700 {
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
