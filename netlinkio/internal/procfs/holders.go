// Package procfs reads what the stock engine needs of /proc: which
// processes hold a socket (an index built by one walk of /proc/*/fd), a
// holder's command name and the multicast groups of its network namespace
// (/proc/<pid>/net/igmp).
package procfs

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Index maps socket inodes to the processes holding them. Building it
// walks every /proc/<pid>/fd once; a lookup checks its answer with one
// readlink, so dumping many sockets does not walk /proc once per socket.
// A miss rebuilds the index, so a socket made after the last walk is found;
// a name that was missed is not looked for again within minRescan, so
// repeating a lookup of what is no socket cannot make every call walk /proc.
type Index struct {
	mu      sync.RWMutex // read for a hit of candidates, write for the rest
	byInode map[uint64][]Ref
	misses  map[uint64]time.Time // inodes not found, and when
}

// Ref is one holder of a socket: a process and its descriptor.
type Ref struct{ Pid, Fd int }

const minRescan = 100 * time.Millisecond

// NewIndex returns an empty index; the first lookup builds it.
func NewIndex() *Index { return &Index{} }

// Lookup returns the live holders of inode, by pid then fd.
func (x *Index) Lookup(inode uint64) []Ref {
	x.mu.Lock()
	defer x.mu.Unlock()
	if refs := x.verified(inode); len(refs) > 0 {
		return refs
	}
	x.rescanLocked(inode)
	return x.verified(inode)
}

// Candidates returns the indexed holders of inode without checking them:
// a dump proves its holder with fstat of the duplicate anyway, so a
// readlink here would be the same check made twice. A miss, or fresh
// set, rebuilds the index as Lookup does.
func (x *Index) Candidates(inode uint64, fresh bool) []Ref {
	if !fresh {
		// A batch's workers all ask at once; a hit needs no exclusive lock.
		x.mu.RLock()
		refs := slices.Clone(x.byInode[inode])
		x.mu.RUnlock()
		if len(refs) > 0 {
			return refs
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if refs := x.byInode[inode]; len(refs) > 0 && !fresh {
		return slices.Clone(refs)
	}
	x.rescanLocked(inode)
	return slices.Clone(x.byInode[inode])
}

// rescanLocked walks /proc again, unless inode was missed within
// minRescan.
func (x *Index) rescanLocked(inode uint64) {
	if t, ok := x.misses[inode]; ok && time.Since(t) < minRescan {
		return
	}
	x.byInode = scanProc()
	x.misses = map[uint64]time.Time{}
	if len(x.byInode[inode]) == 0 {
		x.misses[inode] = time.Now()
	}
}

// verified keeps the indexed holders that still hold the inode.
func (x *Index) verified(inode uint64) []Ref {
	var live []Ref
	for _, r := range x.byInode[inode] {
		if fdInode(r.Pid, r.Fd) == inode {
			live = append(live, r)
		}
	}
	if len(live) != len(x.byInode[inode]) {
		if len(live) == 0 {
			delete(x.byInode, inode)
		} else {
			x.byInode[inode] = live
		}
	}
	return live
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
