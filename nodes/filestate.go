package nodes

import (
	"hash/fnv"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio/image"
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
// time its socket was first seen, or taken back from the socket's compact
// form (freeze).
func (s *sock) fileLocked(path string) *fileState {
	f := s.files[path]
	if f == nil {
		if s.files == nil {
			s.files = map[string]*fileState{}
		}
		born := stampOf(s.born)
		f = &fileState{mtime: born, ctime: born, atime: born}
		if i, ok := staticFiles[path]; ok && s.cold != nil {
			f.sum = s.cold[i]
		}
		s.files[path] = f
		s.frozen.Store(false)
	}
	return f
}

// staticFiles numbers the paths a socket's directory may have, all but
// the membership files, for the compact form of a frozen socket.
var staticFiles = func() map[string]int {
	paths := append([]string{"", imagePath, infoPath, membershipPath}, image.OptionDirs()...)
	for i := range image.Options {
		paths = append(paths, image.Options[i].Path())
	}
	m := make(map[string]int, len(paths))
	for _, p := range paths {
		if _, ok := m[p]; !ok {
			m[p] = len(m)
		}
	}
	return m
}()

// freeze puts the socket's bookkeeping in its compact form, once the
// kernel holds nothing of its files (Tree.Prune) or nothing was asked of
// it for a while: the hash of each file whose times are still the
// socket's first sight goes into cold, one word per file; a file whose
// times moved, and a membership file, keep their state. What the kernel
// was given of the files is forgotten (so the next open is as careful as
// a first one), and so are the cached dump and holders. Nothing a stat or
// a read shows changes: a file taken back from cold (fileLocked) has the
// hash and times it had, so its mtime moves if its content changed
// meanwhile, and only then. A tar of 100,000 sockets keeps some 450 bytes
// of each instead of some 3 KB of hashes, times and dumps (a heap profile;
// docs/performance.md).
func (s *sock) freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	born := stampOf(s.born)
	var keep map[string]*fileState
	for path, f := range s.files {
		f.sized, f.cached = 0, 0
		if i, ok := staticFiles[path]; ok && f.mtime == born && f.ctime == born && f.atime == born {
			if s.cold == nil {
				s.cold = make([]uint64, len(staticFiles))
			}
			s.cold[i] = f.sum
			continue
		}
		if keep == nil {
			keep = map[string]*fileState{}
		}
		keep[path] = f
	}
	s.files = keep // a fresh map: a Go map does not shrink
	s.img, s.served = nil, nil
	s.hs, s.holdersAt = nil, time.Time{}
	s.frozen.Store(true)
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
