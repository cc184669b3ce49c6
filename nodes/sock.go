package nodes

import (
	"errors"
	"hash/fnv"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"golang.org/x/sys/unix"
)

// socketUID is the owner of a socket: the owner of its inode, which is
// what sock_diag reports (sk_uid is set from it), seen through the holder's
// descriptor; failing that, the user of the holder.
func socketUID(ino uint64, h netlinkio.Holder) uint32 {
	var st unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(h.Pid)+"/fd/"+strconv.Itoa(h.Fd), &st) == nil && st.Ino == ino {
		return st.Uid
	}
	return holderUID(h.Pid)
}

// holderUID is the user of the process that holds a socket.
func holderUID(pid int) uint32 {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return 0
}

// sock is the bookkeeping of one socket.
type sock struct {
	t    *Tree
	ino  uint64
	born time.Time

	checked time.Time // last time the socket was seen to exist; under t.mu

	mu     sync.Mutex
	known  bool // typ and uid are set
	typ    uint16
	uid    uint32
	img    *netlinkio.Image
	imgAt  time.Time
	served []string // the files opened for reading from img
	files  map[string]*fileState
	hidden map[hideKey]time.Time
	gens   map[string]uint64

	wrote     time.Time // the last change made through the tree
	pageOpen  int       // files open through the page cache
	hs        []netlinkio.Holder
	holdersAt time.Time
}

// image returns the socket's image: a fresh dump when fresh is set, else
// one younger than the TTL if there is one. The image is shared: callers
// must not change it (Clone it first).
func (s *sock) image(fresh bool) (*netlinkio.Image, error) {
	s.mu.Lock()
	if !fresh && s.img != nil && s.t.fresh(s.imgAt) {
		img := s.img
		s.mu.Unlock()
		return img, nil
	}
	s.mu.Unlock()
	img, err := s.t.b.Dump(s.ino)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			s.t.drop(s.ino)
		}
		return nil, err
	}
	s.mu.Lock()
	s.img, s.imgAt, s.served = img, time.Now(), s.served[:0]
	s.typ = img.Type
	s.mu.Unlock()
	return img, nil
}

// claim prepares the dump that an open of path reads (with image(false)
// right after): the cached one if it is younger than the TTL and has not
// served path yet, so that a socket's files read in a row (tar -c, cp -a)
// cost one dump and show one consistent state of the socket; otherwise a
// fresh one, so that a file read again shows a change the owner made since
// (TestOptionsAgreeWithGetsockopt). The caller marks path served once it
// has its content.
func (s *sock) claim(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.img != nil && s.t.fresh(s.imgAt) && !slices.Contains(s.served, path) {
		return
	}
	s.img = nil
}

// serve records that the cached dump served an open of path.
func (s *sock) serve(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.served, path) {
		s.served = append(s.served, path)
	}
}

// changed drops the cached dump after a change made through the tree, and
// the attributes the kernel holds of the socket's files, so that the next
// stat and the next open show the new values.
func (s *sock) changed() {
	s.mu.Lock()
	s.img = nil
	s.mu.Unlock()
	s.forgetKernel()
	s.t.invalidate(s.ino)
}

// know records the socket's type and owner, which never change.
func (s *sock) know(typ uint16, uid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.typ, s.uid, s.known = typ, uid, true
}

func (s *sock) isKnown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known
}

func (s *sock) sockType() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.typ
}

func (s *sock) owner() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uid
}

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

// openAction is what an open must do besides answering with its flags.
type openAction int

const (
	openOnly  openAction = iota
	dropSize             // have the kernel drop the size it holds
	storePage            // put the content in the kernel's page cache
)

// openFlags records the content a read-only open snapshots and says how
// the kernel may serve its reads (an open through the page cache is
// counted until pageClosed):
//   - from its page cache as it is (FOPEN_KEEP_CACHE) when the kernel
//     already holds this very content and its size: a tar of an unchanged
//     socket reads without a round trip;
//   - from its page cache too when it knows the size but not the content:
//     storePage asks the caller to store the content there first, and to
//     add FOPEN_KEEP_CACHE if that worked (else the kernel drops its pages
//     at the open and reads them from the tree);
//   - with direct I/O when the size it knows is not this content's: a
//     page cache read stops at the size the kernel knows. dropSize asks
//     the caller to have the kernel drop that size.
//   - with direct I/O, too, for a while after a change made through the
//     tree: a write moves the kernel's idea of the size by itself, and a
//     page cache read that races with one could be cut at the wrong
//     length (TestConcurrent).
//
// Read-only opens skip FLUSH (FOPEN_NOFLUSH): they have nothing to apply.
func (s *sock) openFlags(path string, content []byte) (uint32, openAction) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := contentSum(content)
	f := s.observeLocked(path, sum)
	switch {
	case time.Since(s.wrote) < writeQuiet:
		f.cached = 0
		return fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, openOnly
	case f.sized == sum && f.cached == sum:
		s.pageOpen++
		return fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, openOnly
	case f.sized == sum:
		s.pageOpen++
		f.cached = sum
		return fuse.FOPEN_NOFLUSH, storePage
	default:
		f.cached = 0
		return fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, dropSize
	}
}

// pageReadWait bounds how long a change waits for the readers that opened
// one of the socket's files through the page cache to close it.
const pageReadWait = 20 * time.Millisecond

// beforeChange is called before the tree changes the socket (or opens one
// of its files for writing). From now on, for writeQuiet after the change,
// reads use direct I/O; and it waits, up to pageReadWait, for the files
// open through the page cache to be closed. A reader between its open and
// its read of the page cache would otherwise read its snapshot cut at the
// size the change brings into the kernel (TestConcurrent: "64" for
// "64\n"). A reader reads right after it opens, so the wait is mostly
// none; one that holds a file open longer does not hold the change up.
func (s *sock) beforeChange() {
	s.mu.Lock()
	s.wrote = time.Now()
	s.mu.Unlock()
	for deadline := time.Now().Add(pageReadWait); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		s.mu.Lock()
		n := s.pageOpen
		s.mu.Unlock()
		if n == 0 {
			return
		}
	}
}

// pageClosed records that a file opened through the page cache was closed.
func (s *sock) pageClosed() {
	s.mu.Lock()
	s.pageOpen--
	s.mu.Unlock()
}

// writeQuiet is how long after a change made through the tree a socket's
// files are read with direct I/O only: longer than the kernel keeps an
// attribute (fs.KernelCacheTimeout), so that every size it holds by then
// came from the tree.
const writeQuiet = time.Second

// forgetKernel records that the kernel was told to drop what it knew of
// every file of the socket, after a change made through the tree.
func (s *sock) forgetKernel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrote = time.Now()
	for _, f := range s.files {
		f.sized = 0
	}
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
