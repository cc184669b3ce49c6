// Package nodes holds the go-fuse (github.com/hanwen/go-fuse/v2/fs) node
// types of the /inetcr tree: the root, one directory per socket, the option
// files, the membership directory and files, image.bin and info. They are
// thin: each file operation becomes a netlinkio backend call and an errno.
//
// What the nodes share lives in a Tree: the backend, a short-lived cache of
// the socket listing and of dumps (so that a stat of every file of a socket
// does not dump it forty times), and per-file bookkeeping: the last content
// seen and when it changed (mtime and ctime move only when a value changes),
// and the names a process unlinked (docs/tree.md, "unlink").
package nodes

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
)

// Config configures a Tree.
type Config struct {
	// Backend dumps and restores the sockets.
	Backend netlinkio.Backend
	// CacheTTL is how long a socket listing, a holder lookup or a dump made
	// for a lookup, a stat or a directory listing is reused. Opening a file
	// always dumps afresh, and every change made through the tree drops the
	// socket's cached dump, so this only bounds how stale a stat can be after
	// a change made by the socket's owner. 0 means DefaultCacheTTL; a negative
	// value turns reuse off.
	CacheTTL time.Duration
	// HideTTL is how long a file that a process unlinked stays out of that
	// process's sight (docs/tree.md). 0 means DefaultHideTTL.
	HideTTL time.Duration
	// DirAttrTimeout is how long the kernel may keep the attributes of a
	// socket's directories (not the root's, not any file's): they hold no
	// value, only an owner, a mode and times, and caching them spares a
	// GETATTR for the permission check of every path walk. 0 means
	// DefaultDirAttrTimeout; a negative value means none.
	DirAttrTimeout time.Duration
	// Logger records every change made through the tree and every refusal
	// (docs/security.md). nil means structured text on stderr.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultCacheTTL = 200 * time.Millisecond
	DefaultHideTTL  = 5 * time.Second

	DefaultDirAttrTimeout = time.Second
)

// Tree is the state the nodes of one mount share.
type Tree struct {
	b       netlinkio.Backend
	ttl     time.Duration
	hideTTL time.Duration
	dirAttr time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	list   map[uint64]netlinkio.Socket
	listAt time.Time
	root   fileState // times of the root directory's listing
	socks  map[uint64]*sock
}

// New returns a Tree; its Root is the mount's root node.
func New(cfg Config) *Tree {
	t := &Tree{b: cfg.Backend, ttl: cfg.CacheTTL, hideTTL: cfg.HideTTL, dirAttr: cfg.DirAttrTimeout, log: cfg.Logger, socks: map[uint64]*sock{}}
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
	t.root = fileState{mtime: now, ctime: now, atime: now}
	return t
}

// Root returns the root directory node, for fs.Mount or fs.NewNodeFS.
func (t *Tree) Root() fs.InodeEmbedder { return &rootDir{t: t} }

// fresh reports whether something fetched at at may still be used.
func (t *Tree) fresh(at time.Time) bool {
	return t.ttl > 0 && !at.IsZero() && time.Since(at) < t.ttl
}

// listing returns the sock_diag listing, reusing one younger than the TTL
// unless force is set.
func (t *Tree) listing(force bool) (map[uint64]netlinkio.Socket, error) {
	t.mu.Lock()
	if !force && t.list != nil && t.fresh(t.listAt) {
		l := t.list
		t.mu.Unlock()
		return l, nil
	}
	t.mu.Unlock()
	socks, err := t.b.List()
	if err != nil {
		return nil, err
	}
	l := make(map[uint64]netlinkio.Socket, len(socks))
	for _, s := range socks {
		l[s.Inode] = s
	}
	sig := listingSig(socks)
	now := time.Now()
	t.mu.Lock()
	t.list, t.listAt = l, now
	if t.root.content != sig {
		if t.root.seen {
			t.root.mtime, t.root.ctime = now, now
		}
		t.root.content, t.root.seen = sig, true
	}
	// Forget the bookkeeping of sockets that are neither listed nor were
	// looked at for a while (unbound sockets are not listed but live on).
	for ino, s := range t.socks {
		if _, ok := l[ino]; !ok && now.Sub(s.checked) > time.Minute {
			delete(t.socks, ino)
		}
	}
	t.mu.Unlock()
	return l, nil
}

// listingSig identifies a listing's set of sockets, so that the root's
// mtime moves only when a socket comes or goes.
func listingSig(socks []netlinkio.Socket) string {
	inos := make([]uint64, len(socks))
	for i, s := range socks {
		inos[i] = s.Inode
	}
	slices.Sort(inos)
	b := make([]byte, 0, len(inos)*8)
	for _, ino := range inos {
		b = binary.LittleEndian.AppendUint64(b, ino)
	}
	return string(b)
}

// rootAttr returns the root's times and how many sockets it lists.
func (t *Tree) rootAttr() (fileState, int, error) {
	l, err := t.listing(false)
	if err != nil {
		return fileState{}, 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.root, len(l), nil
}

// sock returns the bookkeeping of a socket that exists: it is in the
// listing, or some process holds it (unbound sockets are not in sock_diag).
// It fails with ENOENT for a socket that is gone.
func (t *Tree) sock(ino uint64) (*sock, error) {
	t.mu.Lock()
	s := t.socks[ino]
	if s != nil && t.fresh(s.checked) {
		t.mu.Unlock()
		return s, nil
	}
	t.mu.Unlock()

	list, err := t.listing(false)
	if err != nil {
		return nil, err
	}
	if ls, ok := list[ino]; ok {
		s := t.add(ino)
		s.mu.Lock()
		s.typ, s.uid, s.known = ls.Type, ls.UID, true
		s.mu.Unlock()
		t.checked(s)
		return s, nil
	}
	hs, err := t.b.Holders(ino)
	if err == nil && len(hs) == 0 {
		err = netlinkio.ErrNoSocket
	}
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			t.drop(ino)
		}
		return nil, err
	}
	s = t.add(ino)
	s.mu.Lock()
	known := s.known
	s.mu.Unlock()
	if !known {
		img, err := s.image(true)
		if err != nil {
			return nil, err
		}
		uid := holderUID(hs[0].Pid)
		s.mu.Lock()
		s.typ, s.uid, s.known = img.Type, uid, true
		s.mu.Unlock()
	}
	t.checked(s)
	return s, nil
}

func (t *Tree) add(ino uint64) *sock {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.socks[ino]
	if s == nil {
		now := time.Now()
		s = &sock{t: t, ino: ino, born: now, files: map[string]*fileState{}}
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
		if _, ok := t.list[ino]; ok {
			t.list = nil // stale: make the next lookup list again
		}
	}
	t.mu.Unlock()
}

// holderUID is the owner of a socket sock_diag does not list: the user of
// the process that holds it.
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
	files  map[string]*fileState
	hidden map[hideKey]time.Time
	gens   map[string]uint64

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
	s.img, s.imgAt = img, time.Now()
	s.typ = img.Type
	s.mu.Unlock()
	return img, nil
}

// changed drops the cached dump after a change made through the tree, so
// that the next stat shows the new value.
func (s *sock) changed() {
	s.mu.Lock()
	s.img = nil
	s.mu.Unlock()
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

// fileState is what the tree remembers of one file: its last content and
// when it changed. Times move only when the content does (or a setattr
// sets mtime), never on a mere stat.
type fileState struct {
	content string
	seen    bool
	mtime   time.Time
	ctime   time.Time
	atime   time.Time
}

// observe records a file's current content and returns its times. A file
// seen for the first time takes the time its socket was first seen.
func (s *sock) observe(path string, content []byte) fileState {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[path]
	if f == nil {
		f = &fileState{content: string(content), seen: true, mtime: s.born, ctime: s.born, atime: s.born}
		s.files[path] = f
		return *f
	}
	if f.content != string(content) {
		now := time.Now()
		f.content, f.mtime, f.ctime = string(content), now, now
	}
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
	f := s.files[path]
	if f == nil {
		f = &fileState{mtime: s.born, ctime: s.born, atime: s.born}
		s.files[path] = f
	}
	if okm {
		f.mtime = m
	}
	if oka {
		f.atime = a
	}
}

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
