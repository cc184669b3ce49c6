package nodes

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// sock is the bookkeeping of one socket.
type sock struct {
	t    *Tree
	ino  uint64
	born time.Time

	checked time.Time // last time the socket was seen to exist; under t.mu

	mu     sync.Mutex
	known  bool   // fam, typ and uid are set
	unheld bool   // no process holds it: it can be read, not changed
	fam    uint16 // AF_INET or AF_INET6
	typ    uint16
	uid    uint32
	img    *image.Image
	imgAt  time.Time
	served []string // the files opened for reading from img
	// changes counts the starts and ends of changes made through the
	// tree (beforeChange, changed), so that a dump they overlapped is not
	// kept.
	changes uint64
	files   map[string]*fileState
	// cold holds, once the socket is frozen, the content hash of each
	// file of staticFiles that is not in files (filestate.go).
	cold []uint64
	// frozen is set when the socket's bookkeeping is in its compact
	// form (freeze), and cleared when it grows again.
	frozen atomic.Bool
	hidden map[hideKey]time.Time
	gens   map[string]uint64

	pend  pendingSet   // leaves that unlinks asked for (pending.go)
	npend atomic.Int32 // len(pend.m), read without its lock

	wrote     time.Time   // the last change made through the tree
	pageOpen  pageReaders // files open through the page cache
	hs        []image.Holder
	holdersAt time.Time
}

// image returns the socket's image: a fresh dump when fresh is set, else
// one younger than the TTL if there is one. The image is shared: callers
// must not change it (Clone it first). Pending leaves are carried out
// first, so the image shows them done.
func (s *sock) image(fresh bool) (*image.Image, error) {
	s.settle()
	return s.dump(fresh)
}

// dump is image with the pending leaves not carried out: for what only
// needs the socket's attributes (a directory's getattr, which the kernel
// asks for between tar's unlink and its create).
func (s *sock) dump(fresh bool) (*image.Image, error) {
	s.mu.Lock()
	if !fresh && s.img != nil && s.t.fresh(s.imgAt) {
		img := s.img
		s.mu.Unlock()
		return img, nil
	}
	gen := s.changes
	s.mu.Unlock()
	img, err := s.t.b.Dump(s.ino)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			s.t.drop(s.ino)
		}
		return nil, err
	}
	s.mu.Lock()
	// A dump that a change made through the tree overlapped may show the
	// socket before the change, or halfway through it: it answers its own
	// caller, but is not kept for the next (TestSoak: a file a touch had
	// just made was not found by the touch's own utimensat).
	if s.changes == gen {
		s.img, s.imgAt, s.served = img, time.Now(), s.served[:0]
		s.frozen.Store(false)
	}
	s.fam, s.typ = img.Family, img.Type
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

// dropStaleImage drops the cached dump once it is older than the TTL: no
// one may use it any more, and it is some 2.4 KB (Tree.freezeIdle).
func (s *sock) dropStaleImage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.img != nil && !s.t.fresh(s.imgAt) {
		s.img, s.served = nil, nil
	}
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
	s.changes++
	s.mu.Unlock()
	s.forgetKernel()
	s.t.invalidate(s.ino)
}

// know records the socket's family, type and owner, which never change.
func (s *sock) know(family, typ uint16, uid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fam, s.typ, s.uid, s.known = family, typ, uid, true
}

// markUnheld records whether a listing saw the socket held by no process
// (image.Socket.Unheld).
func (s *sock) markUnheld(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unheld = v
}

// readOnly is set for a socket no process holds, which nothing can
// duplicate to change: its nodes lose their write bits, and every change
// is refused (refuseUnheld).
func (s *sock) readOnly() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unheld
}

// mode is a node's mode for this socket: without write bits when no
// process holds it.
func (s *sock) mode(m uint32) uint32 {
	if s.readOnly() {
		return m &^ 0o222
	}
	return m
}

func (s *sock) isKnown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known
}

// kind is the socket's family and type, which say which option files
// and membership groups it has.
func (s *sock) kind() (family, typ uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fam, s.typ
}

func (s *sock) owner() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uid
}
