package exact_test

import (
	"sync"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// TestReadSocketWritesTheOneAsked: a read of one socket of a process that
// holds many gets that socket's record alone, also while other reads of
// the same process run, and leaves nothing in the wanted map.
func TestReadSocketWritesTheOneAsked(t *testing.T) {
	h := netnstest.NewHolder(t)
	inodes := h.Many(200, "127.0.0.1")
	e := open(t)
	all, err := e.ReadProcess(h.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < len(inodes) {
		t.Fatalf("the whole process: %d records, want at least %d", len(all), len(inodes))
	}
	var wg sync.WaitGroup
	for _, ino := range inodes[:16] {
		wg.Go(func() {
			for range 20 {
				got, err := e.ReadSocket(h.Pid(), ino)
				if err != nil {
					t.Error(err)
					return
				}
				found := 0
				for _, g := range got {
					if g == ino {
						found++
					}
				}
				// Concurrent reads' records may come along; never the
				// whole process.
				if found != 1 || len(got) > 16 {
					t.Errorf("socket %d: %d records of it among %d", ino, found, len(got))
					return
				}
			}
		})
	}
	wg.Wait()
	if keys, counted := e.WantedLeft(); keys != 0 || counted != 0 {
		t.Fatalf("wanted keeps %d keys (%d counted) after the reads", keys, counted)
	}
}
