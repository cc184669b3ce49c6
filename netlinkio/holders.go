package netlinkio

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// holderIndex maps socket inodes to the processes holding them. Building it
// walks every /proc/<pid>/fd once; a lookup checks its answer with one
// readlink, so dumping many sockets does not walk /proc once per socket.
// A miss rebuilds the index, so a socket made after the last walk is found;
// a name that was missed is not looked for again within minRescan, so
// repeating a lookup of what is no socket cannot make every call walk /proc.
type holderIndex struct {
	mu      sync.RWMutex // read for a hit of candidates, write for the rest
	byInode map[uint64][]holderRef
	misses  map[uint64]time.Time // inodes not found, and when
}

type holderRef struct{ pid, fd int }

const minRescan = 100 * time.Millisecond

func newHolderIndex() *holderIndex { return &holderIndex{} }

// lookup returns the live holders of inode, by pid then fd.
func (x *holderIndex) lookup(inode uint64) []holderRef {
	x.mu.Lock()
	defer x.mu.Unlock()
	if refs := x.verified(inode); len(refs) > 0 {
		return refs
	}
	x.rescanLocked(inode)
	return x.verified(inode)
}

// candidates returns the indexed holders of inode without checking them:
// a dump proves its holder with fstat of the duplicate anyway, so a
// readlink here would be the same check made twice. A miss, or fresh
// set, rebuilds the index as lookup does.
func (x *holderIndex) candidates(inode uint64, fresh bool) []holderRef {
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
func (x *holderIndex) rescanLocked(inode uint64) {
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
func (x *holderIndex) verified(inode uint64) []holderRef {
	var live []holderRef
	for _, r := range x.byInode[inode] {
		if fdInode(r.pid, r.fd) == inode {
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

// comm returns a process's command name.
func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
