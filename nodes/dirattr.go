package nodes

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirAttrFunc fills the attributes of one of a socket's directories.
type dirAttrFunc func(s *sock, out *fuse.Attr) syscall.Errno

// infallible adapts an attribute filler that cannot fail to a dirAttrFunc.
func infallible(fillAttr func(s *sock, out *fuse.Attr)) dirAttrFunc {
	return func(s *sock, out *fuse.Attr) syscall.Errno {
		fillAttr(s, out)
		return 0
	}
}

// dirGetattr answers Getattr for a directory of the socket ino, with the
// tree's directory attribute timeout.
func (t *Tree) dirGetattr(ino uint64, out *fuse.AttrOut, attr dirAttrFunc) syscall.Errno {
	s, err := t.sock(ino)
	if err != nil {
		return errno(err)
	}
	out.SetTimeout(t.dirAttr)
	return attr(s, &out.Attr)
}

// dirSetattr answers Setattr for the directory at path below the socket
// ino: it accepts a chown or chmod to the current values and records times.
func (t *Tree) dirSetattr(ino uint64, path string, in *fuse.SetAttrIn, out *fuse.AttrOut, attr dirAttrFunc) syscall.Errno {
	s, err := t.sock(ino)
	if err != nil {
		return errno(err)
	}
	if e := checkOwnerMode(in, modeDir, s.owner()); e != 0 {
		return e
	}
	s.setTimes(path, in)
	return attr(s, &out.Attr)
}
