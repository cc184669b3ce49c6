package netlinkio

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSharedListingRunsOneDumpForABurst(t *testing.T) {
	var l sharedListing
	var calls atomic.Int32
	slow := func() ([]Socket, error) {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return []Socket{{Inode: 7}}, nil
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := l.get(slow)
			if err != nil || len(got) != 1 || got[0].Inode != 7 {
				t.Errorf("got %v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("16 concurrent callers made %d dumps, want 1", n)
	}
	time.Sleep(listFresh + 10*time.Millisecond)
	if _, err := l.get(slow); err != nil || calls.Load() != 2 {
		t.Fatalf("a listing older than listFresh was reused (%d dumps, %v)", calls.Load(), err)
	}
}
