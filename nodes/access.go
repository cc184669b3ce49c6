package nodes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/creds"
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// inetcr runs as root; the tree must not become a way around the kernel's
// own checks (docs/security.md). The kernel checks the modes and owners the
// tree reports (default_permissions). The tree checks again, in-process,
// that the caller may use the socket (netlinkio.Caller.MayUse), so the rule
// holds even on a mount without default_permissions. A file opened for
// writing keeps its opener's credentials, read at open(2), and every change
// made through it is made by a thread that wears them, so the kernel
// judges it as the opener, whoever writes or closes the descriptor later.
// Every change and every refusal is logged.

// nobody is the uid of a request that names no caller: it owns nothing.
const nobody = 1<<32 - 1

// caller is the thread a FUSE request came from, with its credentials
// (netlinkio.CallerOf). A thread whose status cannot be read (it exited,
// or it lives in a pid namespace this server cannot see, where FUSE
// reports pid 0) counts as having no groups and no capabilities, so that
// what cannot be checked is refused.
func caller(ctx context.Context) *netlinkio.Caller {
	fc, ok := fuse.FromContext(ctx)
	if !ok {
		return &netlinkio.Caller{Creds: creds.Creds{Uid: nobody, Gid: nobody}}
	}
	c, err := netlinkio.CallerOf(int(fc.Pid), fc.Uid, fc.Gid)
	if err != nil {
		c.Caps, c.Groups = 0, nil
	}
	return &c
}

// permit checks that the caller may read (or, with write, change) socket
// s, as an open or a listing does (op). The owner passes without a look at
// /proc.
func (t *Tree) permit(ctx context.Context, s *sock, op, path string, write bool) syscall.Errno {
	owner := s.owner()
	if fc, ok := fuse.FromContext(ctx); ok && fc.Uid == owner {
		return 0
	}
	c := caller(ctx)
	if err := c.MayUse(owner, write); err != nil {
		return (&change{t: t, who: c, ino: s.ino, op: op, path: path}).end(err, "")
	}
	return 0
}

// change is one change made through the tree, from the check of its caller
// to its log records.
type change struct {
	t    *Tree
	who  *netlinkio.Caller
	ino  uint64
	op   string // "write", "restore", "join", "leave", "filter"
	path string // below the socket's directory

	before, want *image.Image // what the guards saw, once they passed
}

// begin starts a change of socket s on behalf of who: the opener of the
// file for a change made through an open file, the request's caller for
// one made by a name (create, unlink). It fails with EACCES, logged, if who
// may not change the socket. What who may do to the socket itself the
// kernel judges, as the change is made (netlinkio/creds). Pending leaves
// are carried out first (pending.go).
func (t *Tree) begin(who *netlinkio.Caller, s *sock, op, path string) (*change, syscall.Errno) {
	c, e := t.check(who, s, op, path)
	if e != 0 {
		return nil, e
	}
	s.settle()
	s.beforeChange()
	return c, 0
}

// check is begin that changes nothing yet: who may change s.
func (t *Tree) check(who *netlinkio.Caller, s *sock, op, path string) (*change, syscall.Errno) {
	c := &change{t: t, who: who, ino: s.ino, op: op, path: path}
	if err := c.who.MayUse(s.owner(), true); err != nil {
		return nil, c.end(err, "")
	}
	if e := refuseUnheld(c, s); e != 0 {
		return nil, e
	}
	return c, 0
}

// refuseUnheld fails, logged, with EROFS a change of a socket no process
// holds: nothing can duplicate it to make the change on. Root passes the
// missing write bits; this check does not.
func refuseUnheld(c *change, s *sock) syscall.Errno {
	if !s.readOnly() {
		return 0
	}
	return c.end(&image.UnheldError{Inode: s.ino}, "")
}

// guards are what the change passes to netlinkio: the recorder of what is
// about to change.
func (c *change) guards() []held.Guard {
	return []held.Guard{c.record}
}

func (c *change) record(before, want *image.Image) error {
	c.before, c.want = before, want
	return nil
}

// end logs how the change went and returns its errno: one record for each
// value it changed (none when it changed nothing), or one for a refusal or
// failure with its reason. input is what the caller wrote, if it helps.
func (c *change) end(err error, input string) syscall.Errno {
	l := c.t.log.With("pid", c.who.Pid, "uid", c.who.Uid, "comm", c.who.Comm, "socket", c.ino, "op", c.op, "file", c.path)
	if err == nil {
		if c.before != nil {
			for _, d := range image.Diff(c.before, c.want) {
				l.Info("change", "what", d.Path, "old", d.Old, "new", d.New)
			}
		}
		return 0
	}
	e := errno(err)
	attrs := []any{"errno", unix.ErrnoName(e), "reason", err.Error()}
	if input != "" {
		attrs = append(attrs, "input", clip(input))
	}
	switch e {
	case syscall.EINVAL, syscall.EPERM, syscall.EACCES, syscall.EFBIG, syscall.EDQUOT, syscall.ENOSPC:
		l.Warn("refused", attrs...)
	default:
		l.Warn("failed", attrs...)
	}
	return e
}

// clip keeps a logged input short: a write is at most one page, but a log
// line should stay one line.
func clip(s string) string {
	s = strings.TrimSuffix(s, "\n")
	if len(s) > 120 {
		return s[:120] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// notMember turns leaving or filtering a group the socket is not in
// (EADDRNOTAVAIL from netlinkio) into ENOENT: the file does not exist.
func notMember(err error) error {
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("%w (%w)", err, syscall.ENOENT)
	}
	return err
}

// defaultLogger writes structured text records to stderr.
func defaultLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}
