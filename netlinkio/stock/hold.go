package stock

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/creds"
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"golang.org/x/sys/unix"
)

// heldSocket is a duplicate of a socket taken for changes, with what a
// change needs to know of the socket's own network namespace, taken when
// it was held: the namespace itself (SIOCGSKNS), where a route check's
// scratch socket is made, and its multicast groups file (open, so that it
// keeps naming that namespace). A change then touches no other process:
// not its pidfd, not its /proc/<pid> entries.
type heldSocket struct {
	s     *Stock
	inode uint64

	mu    sync.Mutex // one change at a time
	fd    int
	netns int // the socket's own network namespace
	igmp  *procfs.IGMPFile
	// read, when set, reads the before-state of each Update from the
	// duplicate instead of getsockopt (the exact reader's HoldWith).
	read Reader
}

// Reader reads a socket's image from a descriptor of it in this process.
type Reader func(fd int) (*image.Image, error)

// HoldWith is Hold for another reader: each Update plans from the image
// read returns for the duplicate, and changes the socket as Hold's do,
// with setsockopt on the duplicate. The exact reader holds sockets so.
func (s *Stock) HoldWith(inode uint64, read Reader) (held.Socket, error) {
	h, err := s.hold(inode)
	if err != nil {
		return nil, &image.OpError{Op: "hold", Inode: inode, Err: err}
	}
	h.read = read
	return h, nil
}

var _ held.Socket = (*heldSocket)(nil)

// Hold duplicates the socket for changes to come.
func (s *Stock) Hold(inode uint64) (held.Socket, error) {
	h, err := s.hold(inode)
	if err != nil {
		return nil, &image.OpError{Op: "hold", Inode: inode, Err: err}
	}
	return h, nil
}

func (s *Stock) hold(inode uint64) (*heldSocket, error) {
	fd, pid, err := s.dupSocket(inode)
	if err != nil {
		return nil, err
	}
	ns, err := netns.Of(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	igmp, err := openGroups(ns, pid)
	if err != nil {
		unix.Close(ns)
		unix.Close(fd)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			err = image.ErrNoSocket // the holder exited meanwhile
		}
		return nil, err
	}
	return &heldSocket{s: s, inode: inode, fd: fd, netns: ns, igmp: igmp}, nil
}

// openGroups opens the groups file of the namespace ns: the holder's, when
// the holder is in it, or one opened inside it.
func openGroups(ns, pid int) (*procfs.IGMPFile, error) {
	ino, err := netns.InoOf(ns)
	if err != nil {
		return nil, err
	}
	if h, err := netns.Ino("/proc/" + strconv.Itoa(pid) + "/ns/net"); err == nil && h == ino {
		return procfs.OpenIGMP(pid)
	}
	return openIGMPIn(ns)
}

// candidates reads the held groups files, whatever the pid.
func (h *heldSocket) candidates(_ int, v6 bool) ([]image.MembershipKey, error) {
	if v6 {
		return h.igmp.Keys6()
	}
	return h.igmp.Keys()
}

// Close lets the duplicate go.
func (h *heldSocket) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fd < 0 {
		return nil
	}
	h.igmp.Close()
	unix.Close(h.netns)
	err := unix.Close(h.fd)
	h.fd = -1
	return err
}

// Update is held.Socket's: one dump of the duplicate, the edit, the
// guards, then the plan between the two images, run as who.
func (h *heldSocket) Update(who *creds.Creds, edit held.Edit, guards ...held.Guard) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fail := func(step string, err error) error {
		return &image.OpError{Op: "restore", Inode: h.inode, Step: step, Err: err}
	}
	if h.fd < 0 {
		return fail("", syscall.EBADF)
	}
	before, err := h.readBefore()
	if err != nil {
		return fail("dump before", err)
	}
	// The image's interface names are looked up in the socket's own
	// namespace before the guards see the change.
	rebased := func(b *image.Image) (*image.Image, error) {
		w, err := edit(b)
		if err != nil {
			return nil, err
		}
		if w, err = rebase(h.fd, w); err != nil {
			return nil, fail("", err)
		}
		return w, nil
	}
	want, err := held.Want(h.inode, before, rebased, guards)
	if err != nil {
		return err
	}
	plan, err := plan(h.fd, h.netns, before, want)
	if err != nil {
		return fail("", err)
	}
	if len(plan) == 0 {
		return nil
	}
	as := creds.Self
	if who != nil {
		t, err := creds.Wear(*who)
		if err != nil {
			return fail("", err)
		}
		defer t.Close()
		as = t.Do
	}
	return h.s.run(plan, as, who, fail)
}

// readBefore reads the socket as it is before a change.
func (h *heldSocket) readBefore() (*image.Image, error) {
	if h.read != nil {
		return h.read(h.fd)
	}
	return dumpFd(h.fd, 0, h.candidates)
}

// run executes a plan with rollback: each step's do on as (the thread that
// wears the caller), its check and every undo on this one, since putting
// back what was there lends nothing. A step with a check (an option's) is
// undone too when it fails: its do may have made part of the change (a
// buffer size clamped before the FORCE option was refused), or its check
// found it made differently, and setting the old value again is safe
// either way.
func (s *Stock) run(plan []step, as func(func() error) error, who *creds.Creds, fail func(string, error) error) error {
	for i, st := range plan {
		err := s.fault(st.name)
		if err == nil {
			err = as(st.do)
		}
		if err == nil && st.check != nil {
			err = st.check()
		}
		if err == nil {
			continue
		}
		made := i // the steps to undo: those before this one
		if st.check != nil {
			made = i + 1
		}
		err = judged(err, who)
		var undoErrs []string
		for j := made - 1; j >= 0; j-- {
			if plan[j].undo == nil {
				continue
			}
			if uerr := plan[j].undo(); uerr != nil {
				undoErrs = append(undoErrs, plan[j].name+": "+uerr.Error())
			}
		}
		if len(undoErrs) > 0 {
			err = fmt.Errorf("%w; putting the socket back failed too (%s)", err, strings.Join(undoErrs, "; "))
		}
		return fail(st.name, err)
	}
	return nil
}

// judged says who the kernel refused, when it refused for want of a
// privilege.
func judged(err error, who *creds.Creds) error {
	if who == nil || !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return err
	}
	return fmt.Errorf("%w (the kernel judged it as uid %d with %s)", err, who.Uid, creds.CapNames(who.Caps))
}
