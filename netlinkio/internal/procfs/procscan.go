package procfs

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// scan walks /proc/<pid>/fd of every process and returns the holders of
// each socket inode, by pid then fd. The processes are read in parallel:
// with tens of thousands of sockets the walk is one readlink per
// descriptor, and a dump of every socket waits for it.
//
// A worker whose read of one process makes no progress (no getdents or
// readlink returned) for pidTimeout is left to finish on its own and
// another takes its place: that process is skipped, its holders are kept
// as the last walk found them, and later walks skip it until slowFor after
// its read returned. A walk not done by deadline fails.
func (x *Index) scan(deadline time.Time) (map[uint64][]Ref, error) {
	all := x.pids()
	now := time.Now()
	x.mu.Lock()
	if x.stuck >= maxStuck {
		n := x.stuck
		x.mu.Unlock()
		return nil, stuckError(n)
	}
	for pid, until := range x.slow {
		if !until.IsZero() && !now.Before(until) {
			delete(x.slow, pid)
		}
	}
	pids := make([]int, 0, len(all))
	skipped := map[int]bool{}
	for _, pid := range all {
		if _, ok := x.slow[pid]; ok {
			skipped[pid] = true
		} else {
			pids = append(pids, pid)
		}
	}
	x.mu.Unlock()

	s := &scan{x: x, pids: pids, found: make([][]fdSocket, len(pids)), got: make([]bool, len(pids)), left: len(pids), done: make(chan struct{})}
	if len(pids) == 0 {
		close(s.done)
	}
	s.mu.Lock()
	for range min(2*runtime.GOMAXPROCS(0), len(pids)) {
		s.startLocked()
	}
	s.mu.Unlock()
	if err := s.supervise(deadline); err != nil {
		return nil, err
	}

	idx := map[uint64][]Ref{}
	for i, fds := range s.found {
		if !s.got[i] {
			skipped[pids[i]] = true
		}
		for _, f := range fds {
			idx[f.inode] = append(idx[f.inode], Ref{pids[i], f.fd})
		}
	}
	if prev := x.cur.Load(); prev != nil && len(skipped) > 0 {
		for ino, refs := range *prev {
			for _, r := range refs {
				if skipped[r.Pid] {
					idx[ino] = append(idx[ino], r)
				}
			}
		}
	}
	for ino := range idx {
		slices.SortFunc(idx[ino], func(a, b Ref) int {
			if a.Pid != b.Pid {
				return a.Pid - b.Pid
			}
			return a.Fd - b.Fd
		})
	}
	return idx, nil
}

// scan is one walk under way.
type scan struct {
	x       *Index
	mu      sync.Mutex
	pids    []int
	found   [][]fdSocket
	got     []bool // found[i] was read
	next    int    // the next of pids to read
	left    int    // pids neither read nor skipped
	ended   bool   // the walk returned: results that come later are dropped
	done    chan struct{}
	workers []*scanWorker
}

type scanWorker struct {
	progress  atomic.Uint64 // bumped by every read of /proc
	i         int           // the pid it reads, or -1; under scan.mu
	abandoned bool          // under scan.mu

	seen   uint64 // progress at seenAt; the supervisor's
	seenAt time.Time
}

// startLocked starts a worker; s.mu is held, by the supervisor's goroutine.
func (s *scan) startLocked() {
	w := &scanWorker{i: -1, seenAt: time.Now()}
	s.workers = append(s.workers, w)
	go s.work(w)
}

func (s *scan) work(w *scanWorker) {
	dents, link := make([]byte, 32<<10), make([]byte, 64)
	s.mu.Lock()
	for !w.abandoned && !s.ended && s.next < len(s.pids) {
		i := s.next
		s.next++
		w.i = i
		w.progress.Add(1)
		s.mu.Unlock()
		fds := s.x.readFds(s.pids[i], dents, link, &w.progress)
		s.mu.Lock()
		w.i = -1
		if !s.ended {
			// Also when abandoned: late, but in time for this walk.
			s.found[i], s.got[i] = fds, true
		}
		if w.abandoned {
			s.mu.Unlock()
			s.x.unstick(s.pids[i])
			return
		}
		s.finishLocked()
	}
	s.mu.Unlock()
}

// finishLocked counts one pid read or skipped; s.mu is held.
func (s *scan) finishLocked() {
	s.left--
	if s.left == 0 {
		close(s.done)
	}
}

// supervise waits for the walk, replacing the workers that are stuck.
func (s *scan) supervise(deadline time.Time) error {
	tick := time.NewTicker(s.x.pidTimeout / 4)
	defer tick.Stop()
	end := time.NewTimer(time.Until(deadline))
	defer end.Stop()
	for {
		select {
		case <-s.done:
			s.mu.Lock()
			s.ended = true
			s.mu.Unlock()
			return nil
		case <-end.C:
			s.mu.Lock()
			s.ended = true
			for _, w := range s.workers {
				if w.i >= 0 && !w.abandoned {
					s.abandonLocked(w)
				}
			}
			s.mu.Unlock()
			return timeoutError{"/proc walk", s.x.walkTimeout}
		case now := <-tick.C:
			s.check(now)
		}
	}
}

// check abandons every worker that made no progress for pidTimeout, and
// starts another in its place while few enough are stuck.
func (s *scan) check(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		if w.i < 0 || w.abandoned {
			continue
		}
		if p := w.progress.Load(); p != w.seen {
			w.seen, w.seenAt = p, now
			continue
		}
		if now.Sub(w.seenAt) < s.x.pidTimeout {
			continue
		}
		if s.abandonLocked(w) && s.next < len(s.pids) {
			s.startLocked()
		}
	}
}

// abandonLocked leaves w to finish on its own and counts its pid as
// skipped; s.mu is held. It says whether another worker may take its place.
func (s *scan) abandonLocked(w *scanWorker) bool {
	w.abandoned = true
	s.finishLocked()
	x := s.x
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stuck++
	x.slow[s.pids[w.i]] = time.Time{} // skipped while the read is blocked
	return x.stuck < maxStuck
}

// unstick counts the end of a blocked read of pid, which later walks skip
// for slowFor more.
func (x *Index) unstick(pid int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stuck--
	x.slow[pid] = time.Now().Add(x.slowFor)
}

// procPids lists the processes in /proc.
func procPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

type fdSocket struct {
	fd    int
	inode uint64
}

// socketFds returns the socket descriptors of pid, reading the directory
// into dents and each link into link, and bumping progress after each
// read.
func socketFds(pid int, dents, link []byte, progress *atomic.Uint64) []fdSocket {
	dfd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dfd)
	var out []fdSocket
	var names []string
	for {
		n, err := unix.Getdents(dfd, dents)
		progress.Add(1)
		if err != nil || n <= 0 {
			return out
		}
		_, _, names = unix.ParseDirent(dents[:n], -1, names[:0])
		for _, name := range names {
			k, err := unix.Readlinkat(dfd, name, link)
			progress.Add(1)
			if err != nil {
				continue
			}
			if ino, ok := socketInode(link[:k]); ok {
				fd, _ := strconv.Atoi(name)
				out = append(out, fdSocket{fd, ino})
			}
		}
	}
}

// socketInode parses a /proc/<pid>/fd link: "socket:[12345]".
func socketInode(link []byte) (uint64, bool) {
	const prefix = "socket:["
	if len(link) < len(prefix)+2 || string(link[:len(prefix)]) != prefix || link[len(link)-1] != ']' {
		return 0, false
	}
	ino, err := strconv.ParseUint(string(link[len(prefix):len(link)-1]), 10, 64)
	return ino, err == nil
}
