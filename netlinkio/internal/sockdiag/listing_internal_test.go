package sockdiag

import (
	"errors"
	"github.com/inetcr/inetcr/netlinkio/image"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countedListing is a listing that takes took and counts its calls.
func countedListing(took time.Duration, calls *atomic.Int32) func() ([]image.Socket, error) {
	return func() ([]image.Socket, error) {
		calls.Add(1)
		time.Sleep(took)
		return []image.Socket{{Inode: 7}, {Inode: 9}}, nil
	}
}

func TestSharedListingRunsOneDumpForABurst(t *testing.T) {
	var l Shared
	var calls atomic.Int32
	slow := countedListing(20*time.Millisecond, &calls)
	var wg sync.WaitGroup
	results := make([][]image.Socket, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := l.Get(slow)
			if err != nil || len(got) != 2 || got[0].Inode != 7 {
				t.Errorf("got %v, %v", got, err)
			}
			results[i] = got
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("16 concurrent callers made %d dumps, want 1", n)
	}
	for i, r := range results {
		if len(r) > 0 && &r[0] != &results[0][0] {
			t.Fatalf("caller %d got its own copy of the listing, want the shared one", i)
		}
	}
	// However long the dump took under load, it is fresh for at most
	// listFreshMax.
	time.Sleep(listFreshMax + 10*time.Millisecond)
	if _, err := l.Get(slow); err != nil || calls.Load() != 2 {
		t.Fatalf("a listing older than listFreshMax was reused (%d dumps, %v)", calls.Load(), err)
	}
}

// A listing slower than listFreshMin answers again for its own duration,
// counted from its end, so that a slow listing is not made back to back.
func TestSharedListingReusesASlowListing(t *testing.T) {
	var l Shared
	var calls atomic.Int32
	took := listFreshMin + 100*time.Millisecond
	slow := countedListing(took, &calls)
	start := time.Now()
	if _, err := l.Get(slow); err != nil {
		t.Fatal(err)
	}
	time.Sleep(listFreshMin)
	// The dump ended at least took after start and is fresh for at least
	// took, so it must answer until start+2*took; a machine too loaded to
	// ask by then proves nothing.
	asked := time.Now()
	if _, err := l.Get(slow); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 && asked.Sub(start) < 2*took {
		t.Fatalf("a %v listing was not reused %v after it ended (%d dumps)", took, asked.Sub(start)-took, n)
	}
	time.Sleep(listFreshMax + 10*time.Millisecond)
	before := calls.Load()
	if _, err := l.Get(slow); err != nil || calls.Load() != before+1 {
		t.Fatalf("a listing was reused more than listFreshMax after it ended (%d dumps, %v)", calls.Load(), err)
	}
}

func TestListFreshIsTheListingsDurationWithinBounds(t *testing.T) {
	for took, want := range map[time.Duration]time.Duration{
		0:                      listFreshMin,
		10 * time.Millisecond:  listFreshMin,
		150 * time.Millisecond: 150 * time.Millisecond,
		2 * time.Second:        listFreshMax,
	} {
		if got := listFresh(took); got != want {
			t.Errorf("listFresh(%v) = %v, want %v", took, got, want)
		}
	}
	// A socket closed just after the kernel dumped it stays listed for
	// the dump plus its freshness; with the tree's 200 ms cache on top
	// that must stay under a second for any dump up to listFreshMax.
	if stale := listFreshMax + listFresh(listFreshMax) + 200*time.Millisecond; stale >= time.Second {
		t.Errorf("a closed socket may stay listed %v", stale)
	}
}

// A failed listing is not reused, and an append to a shared listing never
// writes into what another caller holds.
func TestSharedListingErrorsAndAppends(t *testing.T) {
	var l Shared
	fail := errors.New("no sock_diag")
	if _, err := l.Get(func() ([]image.Socket, error) { return nil, fail }); err != fail {
		t.Fatalf("error %v, want %v", err, fail)
	}
	roomy := func() ([]image.Socket, error) { return append(make([]image.Socket, 0, 8), image.Socket{Inode: 1}), nil }
	a, err := l.Get(roomy)
	if err != nil || len(a) != 1 {
		t.Fatalf("after a failure: %v, %v", a, err)
	}
	b, _ := l.Get(roomy)
	a = append(a, image.Socket{Inode: 2})
	b = append(b, image.Socket{Inode: 3})
	if a[1].Inode != 2 || b[1].Inode != 3 {
		t.Fatalf("two callers' appends share memory: %v, %v", a, b)
	}
}
