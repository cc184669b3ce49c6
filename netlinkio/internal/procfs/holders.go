// Package procfs reads what the stock engine needs of /proc: which
// processes hold a socket (an index built by one walk of /proc/*/fd), a
// holder's command name and the multicast groups of its network namespace
// (/proc/<pid>/net/igmp).
package procfs

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/inetcr/inetcr/netlinkio/internal/deadline"
	"golang.org/x/sys/unix"
)

// Index maps socket inodes to the processes holding them. Building it
// walks every /proc/<pid>/fd once; a lookup checks its answer with one
// readlink, so dumping many sockets does not walk /proc once per socket.
//
// No lock is held across a read of /proc: a walk builds a new map with no
// lock held and swaps it in, a hit reads the map with none at all, and a
// readlink that checks a holder runs outside any lock too. A read of /proc
// can block (a process in the middle of exec holds its exec_update_lock
// while it closes its descriptors), so every one has a deadline: a
// process whose links do not answer in pidTimeout is skipped by that walk
// and the next for a while, and a walk not done in walkTimeout fails with
// ETIMEDOUT; the goroutine left blocked finishes on its own, and at most
// maxStuck of them are left before the index stops starting new ones.
//
// Walks are shared and rate-limited as a whole: one runs at a time, every
// miss that comes while it runs waits for it, and the next starts at least
// interval after it ended, however many different inodes are missed.
type Index struct {
	cur atomic.Pointer[map[uint64][]Ref] // the last good walk; never modified

	// What reads /proc; tests replace them.
	walk     func(deadline time.Time) (map[uint64][]Ref, error)
	pids     func() []int
	readFds  func(pid int, dents, link []byte, progress *atomic.Uint64) []fdSocket
	readLink func(pid, fd int) uint64

	interval, pidTimeout, walkTimeout, slowFor time.Duration

	mu      sync.Mutex
	running *walkCall // the walk under way, or nil
	last    *walkCall // the last walk that ended
	stuck   int       // goroutines left blocked in a read of /proc
	slow    map[int]time.Time
}

// Ref is one holder of a socket: a process and its descriptor.
type Ref struct{ Pid, Fd int }

const (
	minRescan   = 10 * time.Millisecond  // between the end of a walk and the start of the next, at least (gap)
	pidTimeout  = 200 * time.Millisecond // for one readlink or getdents of /proc/<pid>/fd
	walkTimeout = 30 * time.Second       // for a whole walk: 100,000 descriptors take seconds on a loaded machine; a blocked process is skipped after pidTimeout
	slowFor     = time.Second            // a skipped process is skipped again for this long
	maxStuck    = 32                     // goroutines left blocked in /proc at the most
)

// walkCall is one walk of /proc, shared by every lookup that waits for it.
type walkCall struct {
	start, end time.Time
	deadline   time.Time
	done       chan struct{}
	idx        map[uint64][]Ref // set before done is closed; never modified
	err        error
	asked      []uint64 // inodes lookups asked of it, from before it started
	missed     bool     // one of them it did not find; set before done is closed
}

// NewIndex returns an empty index; the first lookup builds it.
func NewIndex() *Index {
	x := &Index{
		pids:     procPids,
		readFds:  socketFds,
		readLink: fdInode,

		interval:    minRescan,
		pidTimeout:  pidTimeout,
		walkTimeout: walkTimeout,
		slowFor:     slowFor,
		slow:        map[int]time.Time{},
	}
	x.walk = x.scan
	return x
}

// Lookup returns the live holders of inode, by pid then fd. A miss waits
// for a walk that starts after the call (see since), except that within
// the interval after a walk that missed a name a lookup asked it for, it
// answers "no holder" from that walk: stats of many names that are no
// socket cost one walk per interval in all, while a socket made after the
// last walk is found at once unless names were just missed, and at the
// latest once the interval has passed. It fails with ETIMEDOUT (or EAGAIN)
// when /proc does not answer in time.
func (x *Index) Lookup(inode uint64) ([]Ref, error) {
	if live := x.verified(inode, x.indexed(inode)); len(live) > 0 {
		return live, nil
	}
	c, err := x.since(time.Now(), inode, wantLookup)
	if err != nil {
		return nil, err
	}
	return x.verified(inode, c.idx[inode]), nil
}

// Candidates returns the indexed holders of inode without checking them:
// a dump proves its holder with fstat of the duplicate anyway, so a
// readlink here would be the same check made twice. A miss waits for a
// walk that finds the inode or starts after the call, so that a socket
// made just before its dump is found; fresh set (every indexed holder
// proved stale) waits for a walk that starts after the call.
func (x *Index) Candidates(inode uint64, fresh bool) ([]Ref, error) {
	if refs := x.indexed(inode); len(refs) > 0 && !fresh {
		return refs, nil
	}
	w := wantDump
	if fresh {
		w = wantFresh
	}
	c, err := x.since(time.Now(), inode, w)
	if err != nil {
		return nil, err
	}
	return clone(c.idx[inode]), nil
}

// indexed returns a copy of the holders of inode in the current index.
func (x *Index) indexed(inode uint64) []Ref {
	if m := x.cur.Load(); m != nil {
		return clone((*m)[inode])
	}
	return nil
}

func clone(refs []Ref) []Ref {
	if len(refs) == 0 {
		return nil
	}
	return append([]Ref(nil), refs...)
}

// want is what answer a miss takes.
type want int

const (
	wantLookup want = iota // a holder check: also the last walk's "none" if it missed a name
	wantDump               // a walk that has the inode or starts after the call
	wantFresh              // a walk that starts after the call
)

// since returns a walk that answers a miss of inode at t: one that started
// at t or later, or one that has the inode (but for wantFresh), or for
// wantLookup the last walk if it ended within the interval and missed a
// name asked of it. It joins the walk under way, and waits for the
// interval after the last walk to pass before it starts one; it gives up
// at t + walkTimeout.
func (x *Index) since(t time.Time, inode uint64, w want) (*walkCall, error) {
	deadline := t.Add(x.walkTimeout)
	for {
		x.mu.Lock()
		var c *walkCall
		wake := time.Time{}
		switch l := x.last; {
		case x.running != nil:
			c = x.running
			if w == wantLookup && !c.start.Before(t) {
				c.asked = append(c.asked, inode)
			}
		case l != nil && (!l.start.Before(t) || w != wantFresh && len(l.idx[inode]) > 0):
			c = l
		case l != nil && time.Since(l.end) < x.gap(l):
			if w == wantLookup && l.missed {
				x.mu.Unlock()
				return l, l.err
			}
			wake = l.end.Add(x.gap(l))
		default:
			c = x.startLocked()
			if w == wantLookup {
				c.asked = append(c.asked, inode)
			}
		}
		x.mu.Unlock()
		if c != nil {
			err := c.waitUntil(deadline)
			if err != nil || !c.start.Before(t) || w != wantFresh && len(c.idx[inode]) > 0 {
				return c, err
			}
			continue // it started before t and has no answer: look again
		}
		if !wake.Before(deadline) {
			return nil, timeoutError{"/proc walk", x.walkTimeout}
		}
		time.Sleep(time.Until(wake))
	}
}

// gap is how long after walk l the next may start: the interval, or as
// long as l took if that is longer, so that walks asked for without end
// (a stat of every number) take at most half of one CPU however large
// /proc is, while a socket made a moment ago is found within about a walk.
func (x *Index) gap(l *walkCall) time.Duration {
	return max(x.interval, l.end.Sub(l.start))
}

// startLocked starts a walk; x.mu is held.
func (x *Index) startLocked() *walkCall {
	now := time.Now()
	c := &walkCall{start: now, deadline: now.Add(x.walkTimeout), done: make(chan struct{})}
	x.running = c
	go func() {
		idx, err := x.walk(c.deadline)
		x.mu.Lock()
		c.idx, c.err, c.end = idx, err, time.Now()
		if err == nil {
			x.cur.Store(&idx)
		}
		for _, ino := range c.asked {
			c.missed = c.missed || len(idx[ino]) == 0
		}
		x.running, x.last = nil, c
		x.mu.Unlock()
		close(c.done)
	}()
	return c
}

// waitUntil waits for the walk until its deadline or d, whichever is first.
func (c *walkCall) waitUntil(d time.Time) error {
	if c.deadline.Before(d) {
		d = c.deadline
	}
	t := time.NewTimer(time.Until(d))
	defer t.Stop()
	select {
	case <-c.done:
		return c.err
	case <-t.C:
		select {
		case <-c.done: // both ready: the result wins
			return c.err
		default:
		}
		return timeoutError{"/proc walk", c.deadline.Sub(c.start)}
	}
}

// timeoutError is a read of /proc that did not end in time.
type timeoutError struct {
	what  string
	limit time.Duration
}

func (e timeoutError) Error() string {
	return "holder index: " + e.what + " exceeded " + e.limit.String()
}

func (e timeoutError) Unwrap() error { return syscall.ETIMEDOUT }

// stuckError is a read of /proc refused because too many are blocked.
type stuckError int

func (e stuckError) Error() string {
	return "holder index: " + strconv.Itoa(int(e)) + " reads of /proc are blocked"
}

func (e stuckError) Unwrap() error { return syscall.EAGAIN }

// verified keeps the holders in refs that still hold the inode. The
// readlinks run in a goroutine of their own: a holder whose link does not
// answer within pidTimeout (or one of a process being skipped as slow) is
// kept, unchecked, as the walk found it.
func (x *Index) verified(inode uint64, refs []Ref) []Ref {
	if len(refs) == 0 {
		return nil
	}
	x.mu.Lock()
	if x.stuck >= maxStuck {
		x.mu.Unlock()
		return refs
	}
	x.mu.Unlock()
	now := time.Now()
	check := make([]bool, len(refs))
	for i, r := range refs {
		check[i] = !x.isSlow(r.Pid, now)
	}
	done := make(chan []Ref, 1)
	go func() {
		var live []Ref
		for i, r := range refs {
			if !check[i] || x.readLink(r.Pid, r.Fd) == inode {
				live = append(live, r)
			}
		}
		done <- live
	}()
	t := time.NewTimer(x.pidTimeout)
	defer t.Stop()
	select {
	case live := <-done:
		return live
	case <-t.C:
	}
	x.mu.Lock()
	x.stuck++
	x.mu.Unlock()
	go func() {
		<-done
		x.mu.Lock()
		x.stuck--
		x.mu.Unlock()
	}()
	return refs
}

// isSlow says whether pid is being skipped.
func (x *Index) isSlow(pid int, now time.Time) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	until, ok := x.slow[pid]
	return ok && (until.IsZero() || now.Before(until))
}

// fdInode returns the socket inode of /proc/<pid>/fd/<fd>, or 0.
func fdInode(pid, fd int) uint64 {
	buf := make([]byte, 64)
	n, err := unix.Readlink("/proc/"+strconv.Itoa(pid)+"/fd/"+strconv.Itoa(fd), buf)
	if err != nil {
		return 0
	}
	ino, _ := socketInode(buf[:n])
	return ino
}

// Comm returns a process's command name.
func Comm(pid int) string {
	path := "/proc/" + strconv.Itoa(pid) + "/comm"
	b, err := deadline.Call(path, ReadTimeout, func() ([]byte, error) { return os.ReadFile(path) }, func([]byte) {})
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// Recent returns the whole index as a walk that started at most maxAge
// ago found it: the last walk's when it is that young, else the walk under
// way or a new one (after the gap). The map must not be modified. A
// listing takes the sockets that sock_diag does not list (unbound ones)
// from it.
func (x *Index) Recent(maxAge time.Duration) (map[uint64][]Ref, error) {
	c, err := x.since(time.Now().Add(-maxAge), 0, wantFresh)
	if err != nil {
		return nil, err
	}
	return c.idx, nil
}

// Cgroup returns a process's cgroup v2 path (the "0::" line of
// /proc/<pid>/cgroup), or "".
func Cgroup(pid int) string {
	path := "/proc/" + strconv.Itoa(pid) + "/cgroup"
	b, err := deadline.Call(path, ReadTimeout, func() ([]byte, error) { return os.ReadFile(path) }, func([]byte) {})
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}
