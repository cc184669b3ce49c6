package exact

import (
	"sync"

	"github.com/cilium/ebpf"
)

// wantedSet is the program's wanted map with a count per inode: two
// reads of the same socket at once share its key, and the last one out
// takes it away.
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
