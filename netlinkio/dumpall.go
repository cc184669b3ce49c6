package netlinkio

import (
	"sync"

	"golang.org/x/sys/unix"
)

// DumpAll dumps many sockets with up to workers goroutines and calls each
// for every one, from any of those goroutines. On the stock engine the
// batch shares what one dump would otherwise find again for every socket:
// the holder's /proc/<pid>/net/igmp is read once per holder.
func DumpAll(b Backend, inodes []uint64, workers int, each func(inode uint64, img *Image, err error)) {
	dump := b.Dump
	if s, ok := b.(*Stock); ok {
		cache := &igmpCache{byPid: map[int]igmpEntry{}}
		dump = func(inode uint64) (*Image, error) { return s.dumpWith(inode, cache.candidates) }
	}
	work := make(chan uint64)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ino := range work {
				img, err := dump(ino)
				each(ino, img, err)
			}
		}()
	}
	for _, ino := range inodes {
		work <- ino
	}
	close(work)
	wg.Wait()
}

// igmpCache remembers each holder's candidate memberships for one batch.
type igmpCache struct {
	mu    sync.Mutex
	byPid map[int]igmpEntry
}

type igmpEntry struct {
	keys []MembershipKey
	err  error
}

func (c *igmpCache) candidates(pid int) ([]MembershipKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byPid[pid]
	if !ok {
		e.keys, e.err = igmpCandidates(pid)
		c.byPid[pid] = e
	}
	return e.keys, e.err
}

// dumpWith is Dump with a given source of candidate memberships.
func (s *Stock) dumpWith(inode uint64, candidates func(int) ([]MembershipKey, error)) (*Image, error) {
	fd, pid, err := s.dupSocket(inode)
	if err != nil {
		return nil, &OpError{Op: "dump", Inode: inode, Err: err}
	}
	defer unix.Close(fd)
	img, err := dumpFd(fd, pid, candidates)
	if err != nil {
		return nil, &OpError{Op: "dump", Inode: inode, Err: err}
	}
	return img, nil
}
