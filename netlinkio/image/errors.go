package image

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
)

// AttrError is a rejected image or value: it names the attribute (or
// option) and says why. It unwraps to EINVAL, so a file system maps it to
// that errno.
type AttrError struct {
	Attr   string
	Reason string
}

func (e *AttrError) Error() string { return e.Attr + ": " + e.Reason }

// Unwrap makes errors.Is(err, syscall.EINVAL) hold.
func (e *AttrError) Unwrap() error { return syscall.EINVAL }

func AttrErrorf(attr uint16, format string, args ...any) error {
	return &AttrError{Attr: AttrName(attr), Reason: fmt.Sprintf(format, args...)}
}

// OpError is a failed operation on one socket, wrapped with what was being
// done, in the style of netlink.OpError: "dump 12345: no such socket".
type OpError struct {
	Op    string // "dump", "restore", "set ipopt/ttl", ...
	Inode uint64
	Step  string // the step of a restore that failed, if any
	Err   error
}

func (e *OpError) Error() string {
	s := e.Op
	if e.Inode != 0 {
		s += " " + strconv.FormatUint(e.Inode, 10)
	}
	if e.Step != "" {
		s += ": " + e.Step
	}
	return s + ": " + describe(e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// describe words the errors a user meets most in the tree's terms.
func describe(err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT) && !isAttrError(err):
		var errno syscall.Errno
		if errors.As(err, &errno) && errno == syscall.ENOENT {
			return "no such socket"
		}
	}
	return err.Error()
}

func isAttrError(err error) bool {
	var ae *AttrError
	return errors.As(err, &ae)
}

// ErrNoSocket is returned for an inode that no process holds as an AF_INET
// socket.
var ErrNoSocket = syscall.ENOENT
