package stock

import (
	"sync"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/parallel"
	"golang.org/x/sys/unix"
)

// DumpBatch dumps many sockets with up to workers goroutines and calls each
// for every one, from any of those goroutines. The batch shares what one
// dump would otherwise find again for every socket: one pidfd per holder
// process, opened at its first socket and closed when the batch ends, and
// the holder's /proc/<pid>/net/igmp, read once. It is how netlinkio.DumpAll
// dumps on the stock engine.
func (s *Stock) DumpBatch(inodes []uint64, workers int, each func(inode uint64, img *image.Image, err error)) {
	h := &batchHolders{byPid: map[int]*batchHolder{}}
	defer h.close()
	parallel.Run(len(inodes), workers, func(i int) {
		img, err := s.dumpWith(inodes[i], h.getFd, h.candidates)
		each(inodes[i], img, err)
	})
}

// batchHolders is what one batch knows of each holder process.
type batchHolders struct {
	mu    sync.RWMutex // read to find a holder, write to add one
	byPid map[int]*batchHolder
}

type batchHolder struct {
	pidfd   int // -1 when pidfd_open failed with pidErr
	pidErr  error
	igmp    [2]sync.Once // sets keys and igmpErr: IPv4, IPv6
	keys    [2][]image.MembershipKey
	igmpErr [2]error
}

// holder returns the entry of pid, opening its pidfd on first use. A pid
// that a new process takes over during the batch keeps the old process's
// pidfd, whose calls fail with ESRCH: dupSocket then looks again with a
// pidfd of its own.
func (h *batchHolders) holder(pid int) *batchHolder {
	h.mu.RLock()
	e := h.byPid[pid]
	h.mu.RUnlock()
	if e != nil {
		return e
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e = h.byPid[pid]; e == nil {
		e = &batchHolder{pidfd: -1}
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			e.pidfd = fd
		} else {
			e.pidErr = err
		}
		h.byPid[pid] = e
	}
	return e
}

// getFd duplicates fd of pid through the batch's pidfd of pid.
func (h *batchHolders) getFd(pid, fd int) (int, error) {
	e := h.holder(pid)
	if e.pidfd < 0 {
		return -1, e.pidErr
	}
	return getFdWithin(e.pidfd, pid, fd)
}

// candidates is procGroups, each file read once per holder in the batch.
func (h *batchHolders) candidates(pid int, v6 bool) ([]image.MembershipKey, error) {
	e, i := h.holder(pid), 0
	if v6 {
		i = 1
	}
	e.igmp[i].Do(func() { e.keys[i], e.igmpErr[i] = procGroups(pid, v6) })
	return e.keys[i], e.igmpErr[i]
}

func (h *batchHolders) close() {
	for _, e := range h.byPid {
		if e.pidfd >= 0 {
			unix.Close(e.pidfd)
		}
	}
}

// dumpWith is Dump with given sources of duplicates and of candidate
// memberships.
func (s *Stock) dumpWith(inode uint64, getFd func(pid, fd int) (int, error), candidates Candidates) (*image.Image, error) {
	fd, pid, err := s.dupSocketWith(inode, getFd)
	if err != nil {
		return nil, &image.OpError{Op: "dump", Inode: inode, Err: err}
	}
	defer unix.Close(fd)
	img, err := dumpFd(fd, pid, groupsIn(fd, candidates))
	if err != nil {
		return nil, &image.OpError{Op: "dump", Inode: inode, Err: err}
	}
	return img, nil
}
