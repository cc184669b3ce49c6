// Package nodes holds the go-fuse (github.com/hanwen/go-fuse/v2/fs) node
// types of the /inetcr tree: the root, one directory per socket, the option
// files, the membership directory and files, image.bin and info. They are
// thin: each file operation becomes a netlinkio backend call and an errno.
//
// What the nodes share lives in a Tree: the backend, a short-lived cache of
// the socket listing and of dumps (so that a stat or a read of every file of
// a socket does not dump it forty times), and per-file bookkeeping: a hash
// of the last content seen and when it changed (mtime and ctime move only
// when a value changes), what the kernel was given of it (sock.openFlags),
// and the names a process unlinked (docs/tree.md, "unlink").
package nodes

import (
	"cmp"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// Config configures a Tree.
type Config struct {
	// Backend dumps and restores the sockets.
	Backend netlinkio.Backend
	// CacheTTL is how long a socket listing, a holder lookup or a dump is
	// reused: by lookups, stats and directory listings, and by the opens of
	// files that dump has not served yet (sock.claim). Every change made
	// through the tree drops the socket's cached dump, so this only bounds
	// how stale a value can be after a change made by the socket's owner.
	// 0 means DefaultCacheTTL; a negative value turns reuse off.
	CacheTTL time.Duration
	// HideTTL is how long a file that a process unlinked stays out of that
	// process's sight (docs/tree.md). 0 means DefaultHideTTL.
	HideTTL time.Duration
	// KernelCacheTimeout is how long the kernel may keep the tree's entries
	// and the attributes of its files (fs.KernelCacheTimeout): the nodes
	// give every entry its timeout themselves (kernelcache.go: none for
	// membership files and for sockets not known to be listed), and the
	// mount gives it to go-fuse as the attribute timeout and leaves
	// go-fuse's EntryTimeout unset, since go-fuse replaces an entry timeout
	// of 0 with that. The tree derives from it how long reads use direct
	// I/O after a change (writeQuiet). 0 means DefaultKernelCacheTimeout.
	KernelCacheTimeout time.Duration
	// DirAttrTimeout is how long the kernel may keep the attributes of the
	// directories (files get KernelCacheTimeout): they hold
	// no value, only an owner, a mode and times, and caching them spares a
	// GETATTR for the permission check of every path walk. 0 means
	// DefaultDirAttrTimeout; a negative value means none.
	DirAttrTimeout time.Duration
	// Logger records every change made through the tree and every refusal
	// (docs/security.md). nil means structured text on stderr.
	Logger *slog.Logger
	// WriteBudgetPerUID and WriteBudgetTotal bound the bytes that the write
	// buffers of open image.bin and membership files hold, charged to their
	// openers' uids and to the whole server (budget.go, docs/security.md):
	// a write past the first fails with EDQUOT, past the second with
	// ENOSPC. 0 means DefaultWriteBudgetPerUID (4 MiB) and
	// DefaultWriteBudgetTotal (64 MiB); a negative value means no limit.
	WriteBudgetPerUID, WriteBudgetTotal int
	// Netns limits the tree to the sockets of one network namespace (the
	// inode of its nsfs file); 0 means every namespace the backend lists.
	Netns uint64
}

// Defaults of Config.
const (
	DefaultCacheTTL = 200 * time.Millisecond
	DefaultHideTTL  = 5 * time.Second

	DefaultDirAttrTimeout = time.Second

	DefaultKernelCacheTimeout = 500 * time.Millisecond
)

// Tree is the state the nodes of one mount share.
type Tree struct {
	b       netlinkio.Backend
	ttl     time.Duration
	hideTTL time.Duration
	dirAttr time.Duration
	log     *slog.Logger
	budget  *writeBudget
	// kernelCache and writeQuiet: Config.KernelCacheTimeout and what
	// kernelcache.go derives from it.
	kernelCache, writeQuiet time.Duration

	mu       sync.Mutex
	rootNode *fs.Inode // set by Root
	list     *listing
	swept    time.Time // when a listing last forgot sockets that went away
	root     fileState // times of the root directory's listing
	socks    map[uint64]*sock
	ifs      ifCache // interface names by socket
	netns    uint64  // Config.Netns

	pending sync.WaitGroup // the watches of pending leaves (pending.go)
}

// New returns a Tree; its Root is the mount's root node.
func New(cfg Config) *Tree {
	if l, ok := cfg.Backend.(interface{ LimitNetns(uint64) }); ok && cfg.Netns != 0 {
		l.LimitNetns(cfg.Netns) // list only what the tree shows
	}
	t := &Tree{b: cfg.Backend, ttl: cfg.CacheTTL, hideTTL: cfg.HideTTL, dirAttr: cfg.DirAttrTimeout, log: cfg.Logger, socks: map[uint64]*sock{}, netns: cfg.Netns}
	t.budget = newWriteBudget(cfg.WriteBudgetPerUID, cfg.WriteBudgetTotal)
	t.kernelCache, t.writeQuiet = kernelCacheTimes(cfg.KernelCacheTimeout)
	if t.dirAttr == 0 {
		t.dirAttr = DefaultDirAttrTimeout
	}
	if t.dirAttr < 0 {
		t.dirAttr = 0
	}
	if t.ttl == 0 {
		t.ttl = DefaultCacheTTL
	}
	if t.hideTTL <= 0 {
		t.hideTTL = DefaultHideTTL
	}
	if t.log == nil {
		t.log = defaultLogger()
	}
	now := time.Now()
	t.root = fileState{mtime: stampOf(now), ctime: stampOf(now), atime: stampOf(now)}
	return t
}

// Root returns the root directory node, for fs.Mount or fs.NewNodeFS.
func (t *Tree) Root() fs.InodeEmbedder {
	r := &rootDir{t: t}
	t.mu.Lock()
	t.rootNode = &r.Inode
	t.mu.Unlock()
	return r
}

// invalidate has the kernel drop the attributes it holds of socket ino's
// directories and files, after a change made through the tree, so that a
// stat right after it asks again (the kernel may otherwise keep them for
// the mount's attribute timeout). Only attributes: dropping them takes no
// lock in the kernel, so it is safe from within the request that made the
// change. The page cache needs no notice: an open of changed content does
// not let the kernel keep it (sock.openFlags).
func (t *Tree) invalidate(ino uint64) {
	t.mu.Lock()
	root := t.rootNode
	t.mu.Unlock()
	if root == nil {
		return
	}
	var walk func(n *fs.Inode)
	walk = func(n *fs.Inode) {
		n.NotifyContent(-1, 0)
		for _, c := range n.Children() {
			walk(c)
		}
	}
	if dir := root.GetChild(strconv.FormatUint(ino, 10)); dir != nil {
		walk(dir)
	}
}

// fresh reports whether something fetched at at may still be used.
func (t *Tree) fresh(at time.Time) bool {
	return t.ttl > 0 && !at.IsZero() && time.Since(at) < t.ttl
}

// listing is one sock_diag listing, sorted by inode. It is shared by every
// reader and never modified.
type listing struct {
	socks []image.Socket
	at    time.Time // when the listing was complete
}

// find returns the listed socket ino.
func (l *listing) find(ino uint64) (image.Socket, bool) {
	i, ok := slices.BinarySearchFunc(l.socks, ino, func(s image.Socket, ino uint64) int { return cmp.Compare(s.Inode, ino) })
	if !ok {
		return image.Socket{}, false
	}
	return l.socks[i], true
}

func byInode(a, b image.Socket) int { return cmp.Compare(a.Inode, b.Inode) }

// sweepEvery is how often a listing also forgets the bookkeeping of
// sockets that went away, so that a listing costs no walk of every socket
// the tree has seen.
const sweepEvery = 10 * time.Second

// listing returns the sock_diag listing, reusing one younger than the TTL
// unless force is set. The listing's age counts from its end, so that a
// listing that takes longer than the TTL (100,000 sockets) is still reused.
func (t *Tree) listing(force bool) (*listing, error) {
	t.mu.Lock()
	if l := t.list; !force && l != nil && t.fresh(l.at) {
		t.mu.Unlock()
		return l, nil
	}
	t.mu.Unlock()
	socks, err := t.b.List()
	if err != nil {
		return nil, err
	}
	if t.netns != 0 {
		socks = slices.DeleteFunc(slices.Clone(socks), func(s image.Socket) bool { return s.Netns != t.netns })
	}
	if !slices.IsSortedFunc(socks, byInode) {
		socks = slices.SortedFunc(slices.Values(socks), byInode)
	}
	l := &listing{socks: socks, at: time.Now()}
	sig := listingSig(socks)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = l
	if t.root.sum != sig {
		if t.root.sum != 0 {
			t.root.mtime, t.root.ctime = stampOf(l.at), stampOf(l.at)
		}
		t.root.sum = sig
	}
	if l.at.Sub(t.swept) > sweepEvery {
		t.swept = l.at
		// Unbound sockets are not listed but live on: only what was not
		// looked at for a while is forgotten.
		for ino, s := range t.socks {
			if _, ok := l.find(ino); !ok && l.at.Sub(s.checked) > time.Minute {
				delete(t.socks, ino)
			}
		}
	}
	return l, nil
}

// listingSig identifies a listing's set of sockets, so that the root's
// mtime moves only when a socket comes or goes.
func listingSig(socks []image.Socket) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, s := range socks {
		binary.LittleEndian.PutUint64(b[:], s.Inode)
		h.Write(b[:])
	}
	return h.Sum64() | 1
}

// rootAttr returns the root's times: those of the last listing, whatever
// its age. A stat of the root never lists: every path walk below it asks
// for its attributes, and a listing of 100,000 sockets costs a tenth of a
// second. So the root's mtime moves when a listing (ls, a lookup of a
// socket the tree has not seen) sees a socket come or go.
func (t *Tree) rootAttr() fileState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.root
}

// sock returns the bookkeeping of a socket that exists. A socket is known
// to exist when it is in a listing younger than the TTL, or some process
// holds it: one readlink through the holder index, not a listing of every
// socket (unbound sockets are not in sock_diag at all). It fails with
// ENOENT for a socket that is gone.
func (t *Tree) sock(ino uint64) (*sock, error) {
	t.mu.Lock()
	s := t.socks[ino]
	if s != nil && t.fresh(s.checked) {
		t.mu.Unlock()
		return s, nil
	}
	l := t.list
	t.mu.Unlock()

	if l != nil && t.fresh(l.at) {
		if ls, ok := l.find(ino); ok {
			return t.fromListing(ino, ls), nil
		}
	}
	hs, err := t.b.Holders(ino)
	if err == nil && len(hs) == 0 {
		err = image.ErrNoSocket
	}
	if errors.Is(err, image.ErrNoSocket) && l != nil {
		// A socket no process holds is known from listings only: one
		// the last listing had that way is looked for in a new one.
		if ls, ok := l.find(ino); ok && ls.Unheld {
			if l, lerr := t.listing(true); lerr == nil {
				if ls, ok := l.find(ino); ok {
					return t.fromListing(ino, ls), nil
				}
			}
		}
	}
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			t.drop(ino)
		}
		return nil, err
	}
	s = t.add(ino)
	s.markUnheld(false) // a holder has it (again)
	if !s.isKnown() {
		// The first sight of a socket: a dump gives its family and type
		// (and proves it is an inet socket), its inode its owner.
		img, err := s.image(true)
		if err != nil {
			return nil, err
		}
		s.know(img.Family, img.Type, netlinkio.SocketOwner(ino, hs[0]))
	}
	t.checked(s)
	return s, nil
}

// fromListing is the bookkeeping of a socket a listing has.
func (t *Tree) fromListing(ino uint64, ls image.Socket) *sock {
	s := t.add(ino)
	s.know(ls.Family, ls.Type, ls.UID)
	s.markUnheld(ls.Unheld)
	t.checked(s)
	return s
}

func (t *Tree) add(ino uint64) *sock {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.socks[ino]
	if s == nil {
		s = &sock{t: t, ino: ino, born: time.Now()}
		t.socks[ino] = s
	}
	return s
}

func (t *Tree) checked(s *sock) {
	t.mu.Lock()
	s.checked = time.Now()
	t.mu.Unlock()
}

// drop forgets a socket that went away.
func (t *Tree) drop(ino uint64) {
	t.mu.Lock()
	delete(t.socks, ino)
	if t.list != nil {
		if _, ok := t.list.find(ino); ok {
			t.list = nil // stale: make the next lookup list again
		}
	}
	t.mu.Unlock()
}
