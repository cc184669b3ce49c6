package nodes

import (
	"fmt"
	"sync"
	"syscall"
)

// What the write buffers of open files may hold (docs/security.md, "Write
// buffers"). image.bin and membership files keep what is written until
// close, up to image.MaxImageSize each, and any user may open as many of
// its own files as it likes: without a bound, 4,000 descriptors with one
// byte written at offset 65535 would make the server (root) allocate
// 260 MB. So every buffer is charged to its opener's uid and to the
// server, by its size (its high-water mark: a write at 65535 allocates
// 64 KiB), from the write that grows it until it is taken (flush) or
// dropped (a refused write, release).

// Defaults of Config's write budgets.
const (
	DefaultWriteBudgetPerUID = 4 << 20
	DefaultWriteBudgetTotal  = 64 << 20
)

// writeBudget counts the bytes of write buffers by uid and in all.
type writeBudget struct {
	perUID, total int // < 0: no limit

	mu    sync.Mutex
	byUID map[uint32]int
	sum   int
}

// newWriteBudget returns a budget of perUID bytes for each uid and total
// bytes in all: 0 takes the default, a negative value means no limit.
func newWriteBudget(perUID, total int) *writeBudget {
	if perUID == 0 {
		perUID = DefaultWriteBudgetPerUID
	}
	if total == 0 {
		total = DefaultWriteBudgetTotal
	}
	return &writeBudget{perUID: perUID, total: total, byUID: map[uint32]int{}}
}

// charge adds n bytes to uid's buffers, or fails and charges nothing:
// EDQUOT when uid would pass its own budget, ENOSPC when the server would
// pass the total.
func (b *writeBudget) charge(uid uint32, n int) error {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	mine := b.byUID[uid]
	if b.perUID >= 0 && mine+n > b.perUID {
		return fmt.Errorf("uid %d holds %d bytes in write buffers, and %d more pass its budget of %d: %w", uid, mine, n, b.perUID, syscall.EDQUOT)
	}
	if b.total >= 0 && b.sum+n > b.total {
		return fmt.Errorf("the open files hold %d bytes in write buffers, and %d more pass the server's budget of %d: %w", b.sum, n, b.total, syscall.ENOSPC)
	}
	b.byUID[uid] = mine + n
	b.sum += n
	return nil
}

// credit gives back n bytes that charge took for uid.
func (b *writeBudget) credit(uid uint32, n int) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	left := b.byUID[uid] - n
	if left < 0 {
		panic(fmt.Sprintf("write budget: uid %d gives back %d bytes, more than it holds", uid, n))
	}
	if left == 0 {
		delete(b.byUID, uid)
	} else {
		b.byUID[uid] = left
	}
	b.sum -= n
}

// held returns what uid holds and what all hold.
func (b *writeBudget) held(uid uint32) (mine, all int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byUID[uid], b.sum
}

// growLocked charges the handle's opener for a buffer of size bytes, if
// it has not been charged that much yet (h.mu held).
func (h *handle) growLocked(size int) error {
	if size <= h.charged {
		return nil
	}
	if err := h.sock.t.budget.charge(h.who.Uid, size-h.charged); err != nil {
		return err
	}
	h.charged = size
	return nil
}

// dropLocked gives back what the handle's buffer was charged (h.mu held):
// its buffer was taken or dropped.
func (h *handle) dropLocked() {
	if h.charged > 0 {
		h.sock.t.budget.credit(h.who.Uid, h.charged)
		h.charged = 0
	}
}
