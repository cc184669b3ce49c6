package nodes

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// optionFile is ipopt/NAME or sockopt/NAME: one row of the option table.
// Reading shows the value and a newline; each write(2) sets the option on
// the live socket at once (netlinkio.SetOption) and a bad value fails that
// write with EINVAL and changes nothing.
type optionFile struct {
	fileBase
	opt *image.Option
}

var (
	_ = (fs.NodeGetattrer)((*optionFile)(nil))
	_ = (fs.NodeSetattrer)((*optionFile)(nil))
	_ = (fs.NodeOpener)((*optionFile)(nil))
	_ = (fs.NodeReader)((*optionFile)(nil))
	_ = (fs.NodeWriter)((*optionFile)(nil))
	_ = (fs.NodeFsyncer)((*optionFile)(nil))
	_ = (fs.NodeSetxattrer)((*optionFile)(nil))
)

func newOptionFile(t *Tree, ino uint64, o *image.Option) *optionFile {
	return &optionFile{fileBase: fileBase{t: t, ino: ino, path: o.Path(), mode: modeFile}, opt: o}
}

func (n *optionFile) content(s *sock, fresh bool) ([]byte, error) {
	img, err := s.image(fresh)
	if err != nil {
		return nil, err
	}
	return []byte(n.opt.Format(img.Values[n.opt.Attr]) + "\n"), nil
}

func (n *optionFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.getattr(out, n.content)
}

func (n *optionFile) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.setattr(f, in, out, n.content)
}

func (n *optionFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return n.openHandle(ctx, flags, n.content, false)
}

// Write sets the option from the bytes of this one write, whatever the
// offset, as a sysfs attribute does, on behalf of the file's opener: the
// kernel judges what it may set (access.go).
func (n *optionFile) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, e := writer(f)
	if e != 0 {
		return 0, e
	}
	c, e := n.t.begin(h.who, h.sock, "write", n.path)
	if e != 0 {
		return 0, e
	}
	text := string(data)
	target, err := netlinkio.Take(n.t.b, n.ino)
	if err == nil {
		err = target.SetOption(h.who, n.opt, text, c.guards()...)
		target.Close()
	}
	h.sock.changed()
	if e := c.end(err, text); e != 0 {
		return 0, e
	}
	return uint32(len(data)), 0
}
