package nodes

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// refuse answers, for every directory of the tree, the operations that
// make no sense there: the tree's shape is the kernel's, so nothing can be
// made, renamed or linked. (go-fuse's defaults would say ENOTSUP for some
// and success for Rmdir.) Each directory type answers Create and Unlink
// itself.
type refuse struct{}

func (refuse) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (refuse) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (refuse) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (refuse) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (refuse) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EPERM
}

func (refuse) Rmdir(ctx context.Context, name string) syscall.Errno {
	return syscall.EPERM
}

func (refuse) Tmpfile(ctx context.Context, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// Extended attributes: there are none, and none can be set.
func (refuse) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

var (
	_ = (fs.NodeMkdirer)((*refuse)(nil))
	_ = (fs.NodeMknoder)((*refuse)(nil))
	_ = (fs.NodeSymlinker)((*refuse)(nil))
	_ = (fs.NodeLinker)((*refuse)(nil))
	_ = (fs.NodeRenamer)((*refuse)(nil))
	_ = (fs.NodeRmdirer)((*refuse)(nil))
	_ = (fs.NodeTmpfiler)((*refuse)(nil))
	_ = (fs.NodeSetxattrer)((*refuse)(nil))
)
