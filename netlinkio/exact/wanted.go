package exact

import (
	"sync"

	"github.com/cilium/ebpf"
)

// claims counts, per socket, the reads that want it in a program's map:
// two reads may want the same socket at once, and the first one in puts
// it in the map, the last one out takes it away.
type claims struct {
	mu sync.Mutex
	n  map[uint64]int
}

// claim counts one more read of inode, calling put when it is the first.
func (c *claims) claim(inode uint64, put func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[inode] == 0 {
		if err := put(); err != nil {
			return err
		}
	}
	if c.n == nil {
		c.n = map[uint64]int{}
	}
	c.n[inode]++
	return nil
}

// release counts one read of inode less, calling del when it was the
// last.
func (c *claims) release(inode uint64, del func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[inode]--; c.n[inode] > 0 {
		return
	}
	delete(c.n, inode)
	del()
}

// wantedSet is the program's wanted map: the sockets no task holds that
// a pass reads whole.
type wantedSet struct {
	m *ebpf.Map
	claims
}

// add puts inode in the map; false when the map is full (or refuses it),
// and the caller then reads without it.
func (w *wantedSet) add(inode uint64) bool {
	return w.claim(inode, func() error { return w.m.Put(inode, uint32(1)) }) == nil
}

// remove drops one read's claim on inode. A failed delete leaves a key
// that only adds a record others skip.
func (w *wantedSet) remove(inode uint64) {
	w.release(inode, func() { w.m.Delete(inode) })
}

// askedSet is the program's asked map (socket storage). Storage belongs
// to the socket, not to a descriptor, so two reads of one socket share
// it, and the last one out takes it away through its own duplicate (any
// descriptor of the socket names it).
type askedSet struct {
	m *ebpf.Map
	claims
}

// add gives the socket of descriptor fd storage, saying h holds it.
func (a *askedSet) add(fd int, inode uint64, h iterHolder) error {
	return a.claim(inode, func() error { return a.m.Update(uint32(fd), h, ebpf.UpdateAny) })
}

// remove drops one read's claim on the socket of descriptor fd. A failed
// delete leaves storage that lasts as long as the socket, and records
// other reads skip.
func (a *askedSet) remove(fd int, inode uint64) {
	a.release(inode, func() { a.m.Delete(uint32(fd)) })
}
