package nodes

import (
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// What the kernel may cache of a socket's files, and how a change made
// through the tree keeps it right (docs/tree.md, "The kernel caches what it
// can check").

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
	case time.Since(s.wrote) < s.t.writeQuiet:
		f.cached = 0
		return fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, openOnly
	case f.sized == sum && f.cached == sum:
		s.pageOpen.open()
		return fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, openOnly
	case f.sized == sum:
		s.pageOpen.open()
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

// beforeChange is called before the tree changes the socket (Tree.begin,
// which every change goes through). From now on, for writeQuiet after the
// change, reads use direct I/O; and it waits, up to pageReadWait, for the
// files open through the page cache to be closed. A reader between its
// open and its read of the page cache would otherwise read its snapshot
// cut at the size the change brings into the kernel (TestConcurrent: "64"
// for "64\n"). A reader reads right after it opens, so the wait is mostly
// none; one that holds a file open longer does not hold the change up.
func (s *sock) beforeChange() {
	s.mu.Lock()
	s.wrote = time.Now()
	s.changes++
	idle := s.pageOpen.idle()
	s.mu.Unlock()
	waitIdle(idle, pageReadWait)
}

// pageClosed records that a file opened through the page cache was closed.
func (s *sock) pageClosed() {
	s.mu.Lock()
	s.pageOpen.close()
	s.mu.Unlock()
}

// pageReaders counts a socket's files open through the page cache (under
// sock.mu), and tells a change when none is.
type pageReaders struct {
	n    int
	none chan struct{} // closed when n comes to 0; made by idle
}

func (p *pageReaders) open() { p.n++ }

func (p *pageReaders) close() {
	p.n--
	if p.n <= 0 && p.none != nil {
		close(p.none)
		p.none = nil
	}
}

// idle returns a channel that is closed once no file is open through the
// page cache, nil if none is now.
func (p *pageReaders) idle() <-chan struct{} {
	if p.n <= 0 {
		return nil
	}
	if p.none == nil {
		p.none = make(chan struct{})
	}
	return p.none
}

// waitIdle waits until idle is closed (a nil one is at once), at most d.
func waitIdle(idle <-chan struct{}, d time.Duration) {
	if idle == nil {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-idle:
	case <-timer.C:
	}
}

// kernelCacheTimes returns the kernel cache timeout a Config asks for
// (0: DefaultKernelCacheTimeout) and writeQuiet, derived from it: how
// long after a change made through the tree a socket's files are read
// with direct I/O only. It must outlast every size the kernel holds from
// before the change, which it keeps for at most the kernel cache timeout
// (the files' attribute timeout), so that every size it holds by then came
// from the tree; twice the timeout leaves as much again for the requests
// under way at the change (500 ms gives 1 s).
func kernelCacheTimes(configured time.Duration) (cache, quiet time.Duration) {
	cache = configured
	if cache <= 0 {
		cache = DefaultKernelCacheTimeout
	}
	quiet = 2 * cache
	if quiet <= cache {
		panic("nodes: writeQuiet does not outlast the kernel's cache")
	}
	return cache, quiet
}

// KernelCacheTimeout is how long the kernel may keep the tree's entries
// and its files' attributes (Config.KernelCacheTimeout): the mount gives
// go-fuse this as its attribute timeout.
func (t *Tree) KernelCacheTimeout() time.Duration { return t.kernelCache }

// entry sets how long the kernel may keep an entry the tree gives it:
// the kernel cache timeout, or none (cache unset) for an entry that must
// be checked at every path walk. The mount leaves go-fuse's EntryTimeout
// unset, so that a 0 stays 0 (Config.KernelCacheTimeout).
func (t *Tree) entry(out *fuse.EntryOut, cache bool) {
	if cache {
		out.SetEntryTimeout(t.kernelCache)
	} else {
		out.SetEntryTimeout(0)
	}
}

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
