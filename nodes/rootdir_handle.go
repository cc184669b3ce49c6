package nodes

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// rootHandle is an open root directory. It lists like Readdir, but answers
// the lookups that READDIRPLUS makes for every entry with "no attributes"
// (an entry without a node id, which the kernel takes as a plain entry):
// otherwise `ls -f` of 100,000 sockets would make a go-fuse node and the
// tree's bookkeeping for each of them, and keep them until the kernel
// forgets them. A socket's directory is looked up when it is used.
type rootHandle struct {
	r  *rootDir
	ds fs.DirStream
}

var (
	_ = (fs.NodeOpendirHandler)((*rootDir)(nil))
	_ = (fs.FileReaddirenter)((*rootHandle)(nil))
	_ = (fs.FileSeekdirer)((*rootHandle)(nil))
	_ = (fs.FileReleasedirer)((*rootHandle)(nil))
	_ = (fs.FileLookuper)((*rootHandle)(nil))
)

func (r *rootDir) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return &rootHandle{r: r}, 0, 0
}

// stream lists the sockets at the first read of the open directory.
func (h *rootHandle) stream(ctx context.Context) (fs.DirStream, syscall.Errno) {
	if h.ds == nil {
		ds, e := h.r.Readdir(ctx)
		if e != 0 {
			return nil, e
		}
		h.ds = ds
	}
	return h.ds, 0
}

func (h *rootHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	ds, e := h.stream(ctx)
	if e != 0 || !ds.HasNext() {
		return nil, e
	}
	de, e := ds.Next()
	return &de, e
}

// Seekdir rewinds (rewinddir, a second ls of one open directory) with a
// new listing, and otherwise moves within the listing it has.
func (h *rootHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if off == 0 && h.ds != nil {
		h.ds.Close()
		h.ds = nil
	}
	ds, e := h.stream(ctx)
	if e != 0 {
		return e
	}
	if sd, ok := ds.(fs.FileSeekdirer); ok {
		return sd.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (h *rootHandle) Releasedir(ctx context.Context, flags uint32) {
	if h.ds != nil {
		h.ds.Close()
	}
}

// Lookup declines: see rootHandle.
func (h *rootHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOENT
}
