package nodes

import (
	"context"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// hideKey names a file that one process unlinked.
type hideKey struct {
	path string
	pid  uint32
}

// hide takes path out of the sight of process pid (docs/tree.md).
func (s *sock) hide(path string, pid uint32) {
	pid = tgid(pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hidden == nil {
		s.hidden = map[hideKey]time.Time{}
	}
	now := time.Now()
	for k, until := range s.hidden {
		if now.After(until) {
			delete(s.hidden, k)
		}
	}
	s.hidden[hideKey{path, pid}] = now.Add(s.t.hideTTL)
}

// anyHidden reports whether some name of the socket is hidden from some
// process, so that the common case costs no /proc lookup.
func (s *sock) anyHidden() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hidden) > 0
}

// isHidden reports whether pid unlinked path recently.
func (s *sock) isHidden(path string, pid uint32) bool {
	if !s.anyHidden() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hiddenLocked(hideKey{path, tgid(pid)})
}

// hiddenLocked reports whether k is hidden now; an expired entry is
// dropped on the way.
func (s *sock) hiddenLocked(k hideKey) bool {
	until, ok := s.hidden[k]
	if ok && time.Now().After(until) {
		delete(s.hidden, k)
		return false
	}
	return ok
}

// unhide brings path back for pid when it creates it again, and gives the
// file a new generation so that the kernel sees a new inode for the new
// name. It reports whether the name was hidden.
func (s *sock) unhide(path string, pid uint32) bool {
	if !s.anyHidden() {
		return false
	}
	k := hideKey{path, tgid(pid)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hiddenLocked(k) {
		return false
	}
	delete(s.hidden, k)
	s.bumpLocked(path)
	return true
}

// forget brings path back for pid, whether or not it is hidden, with a new
// generation: a pending leave was carried out (pending.go).
func (s *sock) forget(path string, pid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hidden, hideKey{path, pid})
	s.bumpLocked(path)
}

// bump gives path a new generation: the file that a later create makes is
// a new inode for the kernel and for go-fuse.
func (s *sock) bump(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpLocked(path)
}

func (s *sock) bumpLocked(path string) {
	if s.gens == nil {
		s.gens = map[string]uint64{}
	}
	s.gens[path]++
}

// gen is the current generation of a file's inode.
func (s *sock) gen(path string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gens[path]
}

// stable returns the inode identity of path below socket ino: a socket's
// directory has the socket's own inode number, the rest a hash of the path
// with the top bit set (socket inode numbers are 32-bit), so that one path
// is always one inode.
func (s *sock) stable(path string, mode uint32) fs.StableAttr {
	if path == "" {
		if s.ino > 1 {
			return fs.StableAttr{Mode: mode, Ino: s.ino}
		}
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatUint(s.ino, 10) + "/" + path))
	ino := h.Sum64() | 1<<63
	if ino == ^uint64(0) {
		ino--
	}
	return fs.StableAttr{Mode: mode, Ino: ino, Gen: s.gen(path)}
}

// tgid is the process of a thread: FUSE names the calling thread, and a
// multithreaded program may unlink in one thread and create in another.
func tgid(tid uint32) uint32 {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(tid), 10) + "/status")
	if err != nil {
		return tid
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
				return uint32(n)
			}
		}
	}
	return tid
}

// callerPid is the thread a request came from.
func callerPid(ctx context.Context) uint32 {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Pid
	}
	return 0
}
