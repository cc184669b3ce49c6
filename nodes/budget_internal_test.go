package nodes

import (
	"errors"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/creds"
)

// bufferedHandle is an image.bin handle opened for writing by uid, with
// no socket behind it: enough for the write buffer's accounting.
func bufferedHandle(t *Tree, uid uint32) *handle {
	return &handle{sock: &sock{t: t, ino: 1}, who: &netlinkio.Caller{Creds: creds.Creds{Uid: uid, Gid: uid}}, buffered: true}
}

func TestWriteBudgetAccounting(t *testing.T) {
	const kib = 1 << 10
	tree := New(Config{WriteBudgetPerUID: 256 * kib, WriteBudgetTotal: 384 * kib})
	held := func(uid uint32, wantMine, wantAll int) {
		t.Helper()
		if mine, all := tree.budget.held(uid); mine != wantMine || all != wantAll {
			t.Errorf("uid %d holds %d KiB of %d KiB, want %d of %d", uid, mine/kib, all/kib, wantMine/kib, wantAll/kib)
		}
	}
	write := func(h *handle, off int64, want syscall.Errno) {
		t.Helper()
		_, err := writeBuffer(h, []byte{1}, off, nil)
		if got := errno(err); got != want {
			t.Errorf("uid %d: write at %d: %v (%v), want %v", h.who.Uid, off, got, err, want)
		}
	}

	// A write at 65535 charges 64 KiB, the buffer's size; writes within
	// it charge nothing more; the high-water mark stays after a shrink.
	a := []*handle{bufferedHandle(tree, 1), bufferedHandle(tree, 1), bufferedHandle(tree, 1), bufferedHandle(tree, 1)}
	write(a[0], 65535, 0)
	held(1, 64*kib, 64*kib)
	write(a[0], 10, 0)
	held(1, 64*kib, 64*kib)
	if err := a[0].truncate(10); err != nil {
		t.Fatal(err)
	}
	write(a[0], 20, 0)
	held(1, 64*kib, 64*kib)
	for _, h := range a[1:] {
		write(h, 65535, 0)
	}
	held(1, 256*kib, 256*kib)

	// The fifth is past uid 1's budget: EDQUOT, nothing charged, and the
	// handle refuses from then on.
	over := bufferedHandle(tree, 1)
	write(over, 65535, syscall.EDQUOT)
	write(over, 0, syscall.EINVAL)
	held(1, 256*kib, 256*kib)
	if !refusedHandle(over) {
		t.Error("a handle past its budget does not refuse the rest")
	}
	over.release()

	// A truncate that grows a buffer is charged as a write is.
	if err := bufferedHandle(tree, 1).truncate(1); !errors.Is(err, syscall.EDQUOT) {
		t.Errorf("uid 1's truncate past its budget: %v", err)
	}

	// uid 2 has its own budget, until the server's is spent: ENOSPC.
	b := []*handle{bufferedHandle(tree, 2), bufferedHandle(tree, 2), bufferedHandle(tree, 2)}
	write(b[0], 65535, 0)
	write(b[1], 65535, 0)
	held(2, 128*kib, 384*kib)
	write(b[2], 65535, syscall.ENOSPC)
	held(2, 128*kib, 384*kib)

	// A flush takes the buffer and gives its budget back; so does a
	// release, and a refused write.
	if buf, ok := takeBuffer(a[0]); !ok || len(buf) != 21 {
		t.Errorf("flush took %d bytes (%v)", len(buf), ok)
	}
	held(1, 192*kib, 320*kib)
	a[1].release()
	held(1, 128*kib, 256*kib)
	write(a[2], maxImage, syscall.EFBIG)
	held(1, 64*kib, 192*kib)
	last := bufferedHandle(tree, 1)
	write(last, 65535, 0)
	held(1, 128*kib, 256*kib)
	for _, h := range append(a, b...) {
		h.release()
	}
	held(1, 64*kib, 64*kib)
	held(2, 0, 64*kib)
	last.release()
	held(1, 0, 0)
}

func TestWriteBudgetDefaults(t *testing.T) {
	tree := New(Config{})
	if tree.budget.perUID != DefaultWriteBudgetPerUID || tree.budget.total != DefaultWriteBudgetTotal {
		t.Errorf("defaults: %d per uid, %d in all", tree.budget.perUID, tree.budget.total)
	}
	tree = New(Config{WriteBudgetPerUID: -1, WriteBudgetTotal: -1})
	for i := range 100 {
		h := bufferedHandle(tree, 1)
		if _, err := writeBuffer(h, []byte{1}, 65535, nil); err != nil {
			t.Fatalf("write %d with no limit: %v", i, err)
		}
		defer h.release()
	}
}
