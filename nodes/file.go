package nodes

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// fileBase is what the regular files of a socket's directory share: where
// they are, and the getattr, setattr, open and read that only differ in
// the content. Each file type embeds it and passes its content function.
type fileBase struct {
	fs.Inode
	t    *Tree
	ino  uint64 // the socket
	path string // below the socket's directory: "ipopt/ttl"
	mode uint32
	// holds is set for the files whose writes apply at close (image.bin,
	// membership files): an open for writing holds the socket until the
	// file is closed (takeForWriting).
	holds bool
}

// contentFunc returns a file's content: from a fresh dump when fresh is
// set, else possibly from one a little older (Config.CacheTTL).
type contentFunc func(s *sock, fresh bool) ([]byte, error)

// attr fills the attributes of the file from its current content.
func (b *fileBase) attr(s *sock, out *fuse.Attr, content contentFunc) syscall.Errno {
	data, err := content(s, false)
	if err != nil {
		return errno(err)
	}
	fill(out, s.mode(b.mode), len(data), s.owner(), 1, s.observeAttr(b.path, data))
	return 0
}

func (b *fileBase) getattr(out *fuse.AttrOut, content contentFunc) syscall.Errno {
	s, err := b.t.sock(b.ino)
	if err != nil {
		return errno(err)
	}
	return b.attr(s, &out.Attr, content)
}

// setattr accepts a chown or chmod to the current values, times (recorded
// as the file's until its content changes) and a truncation to size 0,
// which is how open(O_TRUNC) arrives; truncate is the hook for image.bin's
// write buffer.
func (b *fileBase) setattr(f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut, content contentFunc) syscall.Errno {
	s, err := b.t.sock(b.ino)
	if err != nil {
		return errno(err)
	}
	if e := checkOwnerMode(in, b.mode, s.owner()); e != 0 {
		return e
	}
	if size, ok := in.GetSize(); ok {
		if h, ok := f.(*handle); ok && h.buffered {
			if err := h.truncate(size); err != nil {
				c := &change{t: b.t, who: h.who, ino: b.ino, op: "truncate", path: b.path}
				return c.end(err, fmt.Sprintf("size %d", size))
			}
		} else if size != 0 {
			data, err := content(s, false)
			if err != nil {
				return errno(err)
			}
			if size != uint64(len(data)) {
				return syscall.EINVAL
			}
		}
	}
	s.setTimes(b.path, in)
	return b.attr(s, &out.Attr, content)
}

// open takes the snapshot a reader reads from, so a file opened once reads
// one consistent value: a dump of at most Config.CacheTTL ago that has not
// served this file yet (sock.claim), which every change made through the
// tree drops. A write-only open dumps nothing. The caller must be allowed to use the socket (access.go).
// It returns the open's FOPEN flags: direct I/O for a writable open, and
// for a read-only one what sock.openFlags decides.
func (b *fileBase) open(ctx context.Context, flags uint32, content contentFunc) (*handle, uint32, syscall.Errno) {
	s, err := b.t.sock(b.ino)
	if err != nil {
		return nil, 0, errno(err)
	}
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	h := &handle{sock: s}
	if write {
		var e syscall.Errno
		if h.who, h.target, e = b.takeForWriting(ctx, s); e != 0 {
			return nil, 0, e
		}
	} else if e := b.t.permit(ctx, s, "open", b.path, false); e != 0 {
		return nil, 0, e
	}
	if flags&syscall.O_ACCMODE != syscall.O_WRONLY {
		s.claim(b.path)
		data, err := content(s, false)
		if err != nil {
			h.release()
			return nil, 0, errno(err)
		}
		s.serve(b.path)
		h.data = data
	}
	if write {
		// Nothing changes yet: the write (or flush) that changes the
		// socket calls Tree.begin, which readies the kernel's cache.
		if h.data != nil {
			s.observe(b.path, h.data)
		}
		return h, fuse.FOPEN_DIRECT_IO, 0
	}
	fopen, act := s.openFlags(b.path, h.data)
	if fopen&fuse.FOPEN_DIRECT_IO == 0 {
		h.paged = s
	}
	switch act {
	case dropSize:
		// Only the attributes: dropping them takes no lock in the kernel,
		// so it is safe from within the open.
		b.NotifyContent(-1, 0)
	case storePage:
		// The opener holds none of the file's pages while it waits for
		// the open, so the kernel can lock one to store the content: the
		// first read of a file then costs no READ, nor the GETATTR that
		// the kernel's atime bookkeeping makes after one.
		if b.WriteCache(0, h.data) == 0 {
			fopen |= fuse.FOPEN_KEEP_CACHE
		}
	}
	return h, fopen, 0
}

// openHandle serves Open with a handle from open. When bufferWrites is
// set, a writable handle keeps what is written until flush.
func (b *fileBase) openHandle(ctx context.Context, flags uint32, content contentFunc, bufferWrites bool) (fs.FileHandle, uint32, syscall.Errno) {
	h, fopen, e := b.open(ctx, flags, content)
	if e != 0 {
		return nil, 0, e
	}
	h.buffered = bufferWrites && flags&syscall.O_ACCMODE != syscall.O_RDONLY
	h.appending = flags&syscall.O_APPEND != 0
	return h, fopen, 0
}

// Read serves a read from the open file's snapshot, the same for every
// kind of file.
func (b *fileBase) Read(ctx context.Context, f fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return readHandle(f, dest, off)
}

// takeForWriting is the part of an open for writing that concerns the
// socket: the opener's credentials, read now as the kernel takes f_cred at
// open(2), and the check that it may change the socket. A file whose
// writes apply at close also holds the socket (a duplicate, for the stock
// engine) from now until it is closed, so that the close, even one inside
// the holder's own exec (close-on-exec), waits on no process: the exec
// holds a lock that taking the socket then would wait for. An option file
// takes the socket at each write(2), which no exec makes.
func (b *fileBase) takeForWriting(ctx context.Context, s *sock) (*netlinkio.Caller, *netlinkio.Target, syscall.Errno) {
	who := caller(ctx)
	c := &change{t: b.t, who: who, ino: s.ino, op: "open for writing", path: b.path}
	if err := who.MayUse(s.owner(), true); err != nil {
		return nil, nil, c.end(err, "")
	}
	if e := refuseUnheld(c, s); e != 0 {
		return nil, nil, e
	}
	if !b.holds {
		return who, nil, 0
	}
	target, err := netlinkio.Take(b.t.b, s.ino)
	if err != nil {
		return nil, nil, errno(err)
	}
	return who, target, 0
}

// handle is an open file: the snapshot it reads, and for image.bin the
// bytes written so far. A writable one has its opener and its hold of the
// socket, on whose behalf and through which every change is made.
type handle struct {
	sock   *sock
	who    *netlinkio.Caller
	target *netlinkio.Target

	paged    *sock // set when the file is read through the page cache
	mu       sync.Mutex
	data     []byte
	buffered bool // image.bin, membership files: writes go to buf and are applied at flush
	buf      []byte
	dirty    bool
	// appending is set for an open with O_APPEND: every write goes at
	// the end of what this open wrote, not at the offset the kernel
	// gives (the file's size, which is the current content's).
	appending bool
	known     int  // how many bytes from the start of buf were written
	refused   bool // a write was refused: the rest of the input is too
	// charged is what buf's opener was charged for it (budget.go): the
	// largest buf has been since it was last taken or dropped.
	charged int
}

var (
	_ = (fs.FileHandle)((*handle)(nil))
	_ = (fs.FileReleaser)((*handle)(nil))
)

// Release tells the socket that a reader through the page cache is done
// (sock.beforeChange).
func (h *handle) Release(ctx context.Context) syscall.Errno {
	if h.paged != nil {
		h.paged.pageClosed()
	}
	h.release()
	return 0
}

// release lets the socket go, and the write buffer's budget.
func (h *handle) release() {
	h.mu.Lock()
	h.buf, h.dirty = nil, false
	h.dropLocked()
	h.mu.Unlock()
	if h.target != nil {
		h.target.Close()
	}
}

// opener is who opened f for writing, on whose behalf its writes are
// made and logged; the request's caller for a handle that has none.
func opener(ctx context.Context, f fs.FileHandle) *netlinkio.Caller {
	if h, ok := f.(*handle); ok && h.who != nil {
		return h.who
	}
	return caller(ctx)
}

// writer returns f as a handle open for writing.
func writer(f fs.FileHandle) (*handle, syscall.Errno) {
	h, ok := f.(*handle)
	if !ok || h.who == nil {
		return nil, syscall.EBADF
	}
	return h, 0
}

func (h *handle) read(dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if off < 0 {
		return nil, syscall.EINVAL
	}
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(append([]byte(nil), h.data[off:end]...)), 0
}

// truncate sets the size of a buffered handle's buffer. Growing it past
// a budget fails, and refuses the open as a write would.
func (h *handle) truncate(size uint64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if size > maxImage {
		return fmt.Errorf("truncate to %d, past %d: %w", size, maxImage, syscall.EFBIG)
	}
	if size <= uint64(len(h.buf)) {
		h.buf = h.buf[:size]
		h.known = min(h.known, int(size))
		return nil
	}
	if err := h.growLocked(int(size)); err != nil {
		h.refuseLocked()
		return err
	}
	h.buf = append(h.buf, make([]byte, int(size)-len(h.buf))...)
	return nil
}

// refuseLocked makes the handle refuse every later write and its flush,
// and drops its buffer (h.mu held).
func (h *handle) refuseLocked() {
	h.refused, h.buf, h.dirty = true, nil, false
	h.dropLocked()
}

// writeBuffer puts written bytes in a buffered handle at off (at the end
// of its buffer when it appends). A write that grows the buffer past its
// opener's budget or the server's fails with EDQUOT or ENOSPC (budget.go).
// check judges the buffer as the write leaves it (its first known bytes
// were written, the rest may be holes). When either refuses, the write
// changes nothing, the handle refuses every later write and its flush, and
// the refusal's error is returned. A handle that refused fails with
// errRefused.
func writeBuffer(f fs.FileHandle, data []byte, off int64, check func(buf []byte, known int) error) (uint32, error) {
	h, ok := f.(*handle)
	if !ok || !h.buffered {
		return 0, syscall.EBADF
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refused {
		return 0, errRefused
	}
	if h.appending {
		off = int64(len(h.buf))
	}
	end := off + int64(len(data))
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if end > maxImage {
		h.refuseLocked()
		return 0, fmt.Errorf("an image ends at byte %d, past %d: %w", end, maxImage, syscall.EFBIG)
	}
	if err := h.growLocked(int(end)); err != nil {
		h.refuseLocked()
		return 0, err
	}
	buf := h.buf
	if int(end) > len(buf) {
		buf = append(slices.Clip(buf), make([]byte, int(end)-len(buf))...)
	} else {
		buf = slices.Clone(buf)
	}
	copy(buf[off:], data)
	known := h.known
	if off <= int64(known) {
		known = max(known, int(end))
	}
	if check != nil {
		if err := check(buf, known); err != nil {
			h.refuseLocked()
			return 0, err
		}
	}
	h.buf, h.known, h.dirty = buf, known, true
	return uint32(len(data)), nil
}

// errRefused is what a handle answers after it refused a write.
var errRefused = fmt.Errorf("an earlier write to this open file was refused: %w", syscall.EINVAL)

// refusedHandle reports whether f refused a write.
func refusedHandle(f fs.FileHandle) bool {
	h, ok := f.(*handle)
	if !ok {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

// takeBuffer returns what was written to a buffered handle since the last
// flush, if anything was. Its budget is given back: the flush uses the
// buffer and lets it go.
func takeBuffer(f fs.FileHandle) ([]byte, bool) {
	h, ok := f.(*handle)
	if !ok {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.dirty {
		return nil, false
	}
	buf := h.buf
	h.buf, h.known, h.dirty = nil, 0, false
	h.dropLocked()
	return buf, true
}

// readHandle serves a read from the handle's snapshot.
func readHandle(f fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, ok := f.(*handle)
	if !ok {
		return nil, syscall.EBADF
	}
	return h.read(dest, off)
}

// createFlags is what a create answers: the file is open for writing, and
// writes always reach the tree.
const createFlags = fuse.FOPEN_DIRECT_IO

// maxImage bounds image.bin's write buffer.
const maxImage = image.MaxImageSize

// Setxattr: the tree's files have no extended attributes.
func (b *fileBase) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

// Fsync has nothing to do for files whose writes apply at write(2).
func (b *fileBase) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	return 0
}

// newWriteHandle is the handle of a create: open for writing by who,
// buffered, holding the socket.
func newWriteHandle(s *sock, who *netlinkio.Caller, target *netlinkio.Target, flags uint32) *handle {
	return &handle{sock: s, who: who, target: target, buffered: true, appending: flags&syscall.O_APPEND != 0}
}
