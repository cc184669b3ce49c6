package nodes

import (
	"context"
	"fmt"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// imageFile is image.bin: the socket's whole image (image.Image.Encode).
// Writes are buffered in the open file; at flush (close(2)) the buffer is
// decoded, validated whole and restored once, and the error, if any, is
// what close returns: EINVAL for a malformed image, with the reason logged.
// A refused or failed restore leaves the socket as it was.
type imageFile struct {
	fileBase
}

var (
	_ = (fs.NodeGetattrer)((*imageFile)(nil))
	_ = (fs.NodeSetattrer)((*imageFile)(nil))
	_ = (fs.NodeOpener)((*imageFile)(nil))
	_ = (fs.NodeReader)((*imageFile)(nil))
	_ = (fs.NodeWriter)((*imageFile)(nil))
	_ = (fs.NodeFlusher)((*imageFile)(nil))
	_ = (fs.NodeFsyncer)((*imageFile)(nil))
)

const imagePath = "image.bin"

func newImageFile(t *Tree, ino uint64) *imageFile {
	return &imageFile{fileBase{t: t, ino: ino, path: imagePath, mode: modeFile, holds: true}}
}

func (n *imageFile) content(s *sock, fresh bool) ([]byte, error) {
	img, err := s.image(fresh)
	if err != nil {
		return nil, err
	}
	return img.Encode(), nil
}

func (n *imageFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.getattr(out, n.content)
}

// Setattr with a size truncates the open file's write buffer (O_TRUNC,
// ftruncate); it never touches the socket.
func (n *imageFile) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.setattr(f, in, out, n.content)
}

func (n *imageFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return n.openHandle(ctx, flags, n.content, true)
}

// Write puts the bytes in the open file's buffer at off (at its end with
// O_APPEND). Bytes that cannot start an image (image.CheckImageStart)
// are refused by the write that brings them, and so is the rest of what
// this open writes.
func (n *imageFile) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	w, err := writeBuffer(f, data, off, func(buf []byte, known int) error {
		return image.CheckImageStart(buf[:min(known, imageStart)])
	})
	if err != nil && err != errRefused {
		c := &change{t: n.t, who: opener(ctx, f), ino: n.ino, op: "write", path: imagePath}
		return 0, c.end(err, fmt.Sprintf("%d bytes at offset %d", len(data), off))
	}
	return w, errno(err)
}

// imageStart is how many bytes CheckImageStart judges: the VERSION
// attribute.
const imageStart = 8

// Flush restores what was written since the last flush, once, on behalf
// of the file's opener, whoever closes it. An open whose write was refused
// restores nothing and fails again.
func (n *imageFile) Flush(ctx context.Context, f fs.FileHandle) syscall.Errno {
	if refusedHandle(f) {
		return syscall.EINVAL
	}
	buf, ok := takeBuffer(f)
	if !ok {
		return 0
	}
	h, e := writer(f)
	if e != 0 {
		return e
	}
	return n.restore(h, buf)
}

// Fsync restores like close does, for writers that want the error early.
func (n *imageFile) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	return n.Flush(ctx, f)
}

func (n *imageFile) restore(h *handle, buf []byte) syscall.Errno {
	c, e := n.t.begin(h.who, h.sock, "restore", imagePath)
	if e != 0 {
		return e
	}
	input := fmt.Sprintf("%d bytes", len(buf))
	img, err := image.Decode(buf)
	if err != nil {
		return c.end(err, input)
	}
	err = h.target.Restore(h.who, img, c.guards()...)
	h.sock.changed()
	return c.end(err, input)
}
