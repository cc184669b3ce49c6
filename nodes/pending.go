package nodes

import (
	"os"
	"slices"
	"sync"
	"time"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// Unlink of a membership file is a pending leave (docs/tree.md, "Unlink"):
// GNU tar's default extraction unlinks every file and creates it again at
// once, and a leave and a join there would put an unchanged socket's
// groups on the wire twice. The name is hidden from the process that
// unlinked it at once; the leave is carried out at the earliest of that
// process's exit, LeaveDelay, and any other request that needs the
// socket's state; a create of the same name by the same process cancels
// it.

// LeaveDelay bounds how long a pending leave waits for its process to exit
// or to create the name again.
const LeaveDelay = time.Second

// pendingLeave is a leave that an unlink asked for and that has not been
// carried out yet.
type pendingLeave struct {
	key  image.MembershipKey
	path string // membership/GROUP@IFNAME
	pid  uint32 // the process that unlinked
	c    *change

	exit *os.File      // the process's pidfd, readable once it exits; nil if it could not be opened
	stop chan struct{} // closed when the leave is carried out or cancelled
}

// pendingSet is a socket's pending leaves, by path, and the leaves being
// carried out. Its lock is held only to look at them, never across the
// leave itself, which may wait on the holder's /proc.
type pendingSet struct {
	mu      sync.Mutex
	m       map[string]*pendingLeave
	running map[*pendingLeave]chan struct{} // closed when that leave is made
}

// addLeave records a pending leave and starts its watch: the goroutine
// ends at the process's exit, at LeaveDelay, or when the leave is carried
// out or cancelled, whichever comes first.
func (s *sock) addLeave(p *pendingLeave) {
	p.stop = make(chan struct{})
	if fd, err := unix.PidfdOpen(int(p.pid), unix.PIDFD_NONBLOCK); err == nil {
		p.exit = os.NewFile(uintptr(fd), "pidfd")
	}
	s.pend.mu.Lock()
	if s.pend.m == nil {
		s.pend.m = map[string]*pendingLeave{}
	}
	old := s.pend.m[p.path]
	s.pend.m[p.path] = p
	s.npend.Add(1)
	s.pend.mu.Unlock()
	if old != nil {
		// Cannot happen: an unlink of a name settles the socket first.
		s.npend.Add(-1)
		old.halt()
	}
	s.t.pending.Add(1)
	go func() {
		defer s.t.pending.Done()
		p.wait(time.Now().Add(LeaveDelay))
		s.carryOut(p)
	}()
}

// wait returns when the process exits, at deadline, or once p is halted.
func (p *pendingLeave) wait(deadline time.Time) {
	if p.exit != nil {
		defer p.exit.Close()
		if p.exit.SetReadDeadline(deadline) == nil {
			if rc, err := p.exit.SyscallConn(); err == nil {
				// Read parks the goroutine in the runtime's poller until
				// the pidfd is readable (the process exited), the
				// deadline passes or halt moves the deadline to now.
				rc.Read(func(fd uintptr) bool {
					select {
					case <-p.stop:
						return true
					default:
					}
					n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
					return n > 0
				})
				return
			}
		}
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stop:
	}
}

// halt ends p's watch.
func (p *pendingLeave) halt() {
	close(p.stop)
	if p.exit != nil {
		p.exit.SetReadDeadline(time.Unix(1, 0))
	}
}

// carryOut leaves the group of p if p is still pending. The change is
// logged like any other, and a failure too: the unlink that asked for it
// has long returned.
func (s *sock) carryOut(p *pendingLeave) {
	s.pend.mu.Lock()
	if s.pend.m[p.path] != p {
		s.pend.mu.Unlock()
		return
	}
	s.claimLocked(p)
	s.pend.mu.Unlock()
	s.leave(p)
}

// claimLocked moves p from pending to running; s.pend.mu is held. From
// then on no create can cancel it.
func (s *sock) claimLocked(p *pendingLeave) {
	delete(s.pend.m, p.path)
	if s.pend.running == nil {
		s.pend.running = map[*pendingLeave]chan struct{}{}
	}
	s.pend.running[p] = make(chan struct{})
}

// leave carries out a claimed leave. The count drops only once the leave
// is made, so that settle's unlocked look at it cannot pass a leave still
// under way (it then waits for it).
func (s *sock) leave(p *pendingLeave) {
	defer func() {
		s.pend.mu.Lock()
		close(s.pend.running[p])
		delete(s.pend.running, p)
		s.pend.mu.Unlock()
		s.npend.Add(-1)
	}()
	p.halt()
	s.beforeChange()
	target, err := netlinkio.Take(s.t.b, s.ino)
	if err == nil {
		err = target.Leave(p.c.who, p.key, p.c.guards()...)
		target.Close()
	}
	s.changed()
	s.forget(p.path, p.pid)
	p.c.end(notMember(err), "")
}

// settle carries out every pending leave of the socket: a request that
// needs the socket's state sees the groups that were unlinked gone.
func (s *sock) settle() {
	if s.npend.Load() == 0 {
		return
	}
	s.pend.mu.Lock()
	var mine []*pendingLeave
	for _, p := range s.pend.m {
		s.claimLocked(p)
		mine = append(mine, p)
	}
	var others []chan struct{}
	for p, done := range s.pend.running {
		if !slices.Contains(mine, p) {
			others = append(others, done)
		}
	}
	s.pend.mu.Unlock()
	for _, p := range mine {
		s.leave(p)
	}
	for _, done := range others {
		<-done
	}
}

// cancelLeave drops the pending leave of path if process pid asked for
// it, and brings the name back for that process: it reports whether there
// was one.
func (s *sock) cancelLeave(path string, pid uint32) bool {
	if s.npend.Load() == 0 {
		return false
	}
	pid = tgid(pid)
	s.pend.mu.Lock()
	defer s.pend.mu.Unlock()
	p := s.pend.m[path]
	if p == nil || p.pid != pid {
		return false
	}
	delete(s.pend.m, path)
	s.npend.Add(-1)
	p.halt()
	s.unhide(path, pid)
	return true
}

// Close carries out every pending leave of the tree and waits for their
// watches to end: a server that stops still leaves the groups that were
// removed. It is for after the mount is gone; the tree serves nothing
// after it.
func (t *Tree) Close() {
	t.mu.Lock()
	socks := make([]*sock, 0, len(t.socks))
	for _, s := range t.socks {
		socks = append(socks, s)
	}
	t.mu.Unlock()
	for _, s := range socks {
		s.settle()
	}
	t.pending.Wait()
}
