package exact

import (
	"sync"

	"github.com/cilium/ebpf"
)

// wantedSet is the program's wanted map (the sockets no task holds that
// a pass reads whole) with a count per inode: two passes at once may want
// the same socket, and the last one out takes its key away.
type wantedSet struct {
	m  *ebpf.Map
	mu sync.Mutex
	n  map[uint64]int
}

// add puts inode in the map; false when the map is full (or refuses it),
// and the caller then reads without it.
func (w *wantedSet) add(inode uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[inode] == 0 {
		if err := w.m.Put(inode, uint32(1)); err != nil {
			return false
		}
	}
	if w.n == nil {
		w.n = map[uint64]int{}
	}
	w.n[inode]++
	return true
}

// remove drops one read's claim on inode.
func (w *wantedSet) remove(inode uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[inode]--; w.n[inode] > 0 {
		return
	}
	delete(w.n, inode)
	w.m.Delete(inode) // a failure leaves a key that only adds a record others skip
}

// askedSet is the program's asked map (socket storage) with a count per
// socket: storage belongs to the socket, not to a descriptor, so two
// reads of one socket at once share it, and the last one out takes it
// away (through its own duplicate: any descriptor of the socket names it).
type askedSet struct {
	m  *ebpf.Map
	mu sync.Mutex
	n  map[uint64]int
}

// add gives the socket of descriptor fd storage, saying h holds it.
func (a *askedSet) add(fd int, inode uint64, h iterHolder) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[inode] == 0 {
		if err := a.m.Update(uint32(fd), h, ebpf.UpdateAny); err != nil {
			return err
		}
	}
	if a.n == nil {
		a.n = map[uint64]int{}
	}
	a.n[inode]++
	return nil
}

// remove drops one read's claim on the socket of descriptor fd.
func (a *askedSet) remove(fd int, inode uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[inode]--; a.n[inode] > 0 {
		return
	}
	delete(a.n, inode)
	// A failure leaves storage that lasts as long as the socket, and
	// records other reads skip.
	a.m.Delete(uint32(fd))
}
