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
	// field is where in memberships a membership's rule failed
	// ("[2].sources[1]"), for the JSON form to name; "" for the rest.
	field string
}

func (e *AttrError) Error() string { return e.Attr + ": " + e.Reason }

// Unwrap makes errors.Is(err, syscall.EINVAL) hold.
func (e *AttrError) Unwrap() error { return syscall.EINVAL }

func AttrErrorf(attr uint16, format string, args ...any) error {
	return &AttrError{Attr: AttrName(attr), Reason: fmt.Sprintf(format, args...)}
}

// NotApplicable is the refusal of an option or of memberships on a socket
// family and type they do not apply to.
func NotApplicable(attr string, family, typ uint16) error {
	return &AttrError{Attr: attr, Reason: "does not apply to " + SocketKindName(family, typ) + " sockets"}
}

// Rename returns err as an *AttrError naming attr: the reason of an
// *AttrError under another name (a rule judged on the attribute, reported
// at the file or field that holds it), or any other error's text.
func Rename(err error, attr string) *AttrError {
	if ae := (*AttrError)(nil); errors.As(err, &ae) {
		return &AttrError{Attr: attr, Reason: ae.Reason}
	}
	return &AttrError{Attr: attr, Reason: err.Error()}
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

// describe words the errors a user meets most in the tree's terms: a
// socket that is gone is "no such socket"; any other error, an ENOENT of a
// file among them, says what it is.
func describe(err error) string {
	if errors.Is(err, ErrNoSocket) {
		return ErrNoSocket.Error()
	}
	return err.Error()
}

// NoSocketError is the error of an inode that no process holds as an
// AF_INET socket (any more). It unwraps to ENOENT, so errors.Is(err,
// syscall.ENOENT) holds and a file system maps it to that errno.
type NoSocketError struct{}

func (*NoSocketError) Error() string { return "no such socket" }

// Unwrap makes errors.Is(err, syscall.ENOENT) hold.
func (*NoSocketError) Unwrap() error { return syscall.ENOENT }

// UnheldError is a change asked of a socket no process holds (in flight
// in SCM_RIGHTS: a backend that sees such sockets lists them with
// Socket.Unheld). It is EROFS: the socket can be read, not changed.
type UnheldError struct{ Inode uint64 }

func (e *UnheldError) Error() string {
	return fmt.Sprintf("no process holds socket %d: it is in flight or kernel-held; it can be read, not changed", e.Inode)
}

// Unwrap makes errors.Is(err, syscall.EROFS) hold.
func (*UnheldError) Unwrap() error { return syscall.EROFS }

// ErrNoSocket is returned for an inode that no process holds as an AF_INET
// socket. It is the one error that means so: a missing /proc file or any
// other ENOENT is not it.
var ErrNoSocket error = &NoSocketError{}
