package nodes

import (
	"hash/fnv"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// fileState is what the tree remembers of one file: a hash of its last
// content and when it changed, and what the kernel was last given of it.
// Times move only when the content does (or a setattr sets mtime), never
// on a mere stat. Only hashes are kept, so that a tar of 10,000 sockets
// (440,000 files) does not keep a copy of every file.
type fileState struct {
	sum   uint64 // hash of the last content seen; 0 for none
	mtime stamp
	ctime stamp
	atime stamp
	// sized is the hash of the content whose size the kernel was last
	// told (by a lookup, getattr or setattr reply), cached that of the
	// content it may hold in its page cache (read through an open that
	// did not use direct I/O). An open lets the kernel reuse its page
	// cache only when both are the content of the open (openFlags).
	sized, cached uint64
}

// stamp is a time in nanoseconds since the epoch: a third of a time.Time,
// and there is one per file the tree has seen.
type stamp int64

func stampOf(t time.Time) stamp { return stamp(t.UnixNano()) }

func (s stamp) time() time.Time { return time.Unix(0, int64(s)) }

// contentSum hashes a file's content; never 0, which stands for none.
func contentSum(content []byte) uint64 {
	h := fnv.New64a()
	h.Write(content)
	return h.Sum64() | 1
}

// fileLocked returns the state of path, made on first sight with the
// time its socket was first seen.
func (s *sock) fileLocked(path string) *fileState {
	f := s.files[path]
	if f == nil {
		if s.files == nil {
			s.files = map[string]*fileState{}
		}
		born := stampOf(s.born)
		f = &fileState{mtime: born, ctime: born, atime: born}
		s.files[path] = f
	}
	return f
}

// observeLocked records a file's current content; mtime and ctime move if
// it differs from the last one seen.
func (s *sock) observeLocked(path string, sum uint64) *fileState {
	f := s.fileLocked(path)
	if f.sum != 0 && f.sum != sum {
		now := stampOf(time.Now())
		f.mtime, f.ctime = now, now
	}
	f.sum = sum
	return f
}

// observe records a file's current content and returns its times.
func (s *sock) observe(path string, content []byte) fileState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.observeLocked(path, contentSum(content))
}

// observeAttr is observe for an attribute reply: the kernel is about to
// learn the size of this content.
func (s *sock) observeAttr(path string, content []byte) fileState {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := contentSum(content)
	f := s.observeLocked(path, sum)
	f.sized = sum
	return *f
}

// setTimes records times given by utimensat (tar -x, touch); they show
// until the content next changes.
func (s *sock) setTimes(path string, in *fuse.SetAttrIn) {
	m, okm := in.GetMTime()
	a, oka := in.GetATime()
	if !okm && !oka {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fileLocked(path)
	if okm {
		f.mtime = stampOf(m)
	}
	if oka {
		f.atime = stampOf(a)
	}
}
