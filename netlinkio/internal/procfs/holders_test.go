package procfs

import (
	"errors"
	"maps"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeIndex is an index whose walk answers what index holds, counted in
// walks, and from the block-th walk on (if block > 0) waits for release;
// a holder's link is checked against index too.
type fakeIndex struct {
	*Index
	index   atomic.Pointer[map[uint64][]Ref]
	walks   atomic.Int32
	gate    chan struct{}
	release func()
}

func newFake(t *testing.T, index map[uint64][]Ref, block int32) *fakeIndex {
	f := &fakeIndex{Index: NewIndex(), gate: make(chan struct{})}
	f.index.Store(&index)
	f.release = sync.OnceFunc(func() { close(f.gate) })
	t.Cleanup(f.release)
	f.walk = func(time.Time) (map[uint64][]Ref, error) {
		if n := f.walks.Add(1); block > 0 && n >= block {
			<-f.gate
		}
		return *f.index.Load(), nil
	}
	f.readLink = func(pid, fd int) uint64 {
		for ino, refs := range *f.index.Load() {
			if slices.Contains(refs, Ref{pid, fd}) {
				return ino
			}
		}
		return 0
	}
	return f
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// within runs f and fails (without stopping: it may run in a goroutine of
// the test's) unless f returns within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Errorf("%s: still waiting after %v", what, d)
	}
}

// A walk that blocks holds no lock: a socket already in the index is
// answered at once, by Lookup (which checks it with a readlink) and by
// Candidates.
func TestHitWhileWalkBlocks(t *testing.T) {
	f := newFake(t, map[uint64][]Ref{1: {{10, 3}}}, 2)
	f.interval, f.walkTimeout = 0, time.Minute
	if refs, err := f.Lookup(1); err != nil || !slices.Equal(refs, []Ref{{10, 3}}) {
		t.Fatalf("Lookup(1) = %v, %v", refs, err)
	}
	missed := make(chan error, 1)
	go func() { _, err := f.Lookup(2); missed <- err }()
	waitFor(t, "the second walk", func() bool { return f.walks.Load() == 2 })

	within(t, time.Second, "Lookup of an indexed socket during a blocked walk", func() {
		if refs, err := f.Lookup(1); err != nil || !slices.Equal(refs, []Ref{{10, 3}}) {
			t.Errorf("Lookup(1) = %v, %v", refs, err)
		}
	})
	within(t, time.Second, "Candidates of an indexed socket during a blocked walk", func() {
		if refs, err := f.Candidates(1, false); err != nil || !slices.Equal(refs, []Ref{{10, 3}}) {
			t.Errorf("Candidates(1) = %v, %v", refs, err)
		}
	})
	f.release()
	if err := <-missed; err != nil {
		t.Fatalf("the miss: %v", err)
	}
}

// Misses of distinct inodes while a walk runs, and within the interval
// after it, share that walk.
func TestMissesShareOneWalk(t *testing.T) {
	f := newFake(t, map[uint64][]Ref{}, 1)
	f.interval, f.walkTimeout = time.Hour, time.Minute
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if refs, err := f.Lookup(uint64(100 + i)); err != nil || refs != nil {
				t.Errorf("Lookup(%d) = %v, %v", 100+i, refs, err)
			}
		})
	}
	waitFor(t, "the walk", func() bool { return f.walks.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // let the others join it
	f.release()
	wg.Wait()
	for i := range 500 {
		if refs, err := f.Lookup(uint64(1000 + i)); err != nil || refs != nil {
			t.Fatalf("Lookup(%d) = %v, %v", 1000+i, refs, err)
		}
	}
	if n := f.walks.Load(); n != 1 {
		t.Fatalf("%d walks for 520 misses within the interval, want 1", n)
	}
}

// A socket made after a walk is found by Lookup once the interval has
// passed, and by Candidates (a dump) at once: it waits for the next walk.
func TestNewSocketFound(t *testing.T) {
	const interval = 50 * time.Millisecond
	f := newFake(t, map[uint64][]Ref{}, 0)
	f.interval = interval
	if refs, err := f.Lookup(7); err != nil || refs != nil {
		t.Fatalf("Lookup(7) = %v, %v", refs, err)
	}
	f.index.Store(&map[uint64][]Ref{7: {{10, 3}}, 8: {{10, 4}}})
	if refs, err := f.Lookup(7); err != nil || refs != nil || f.walks.Load() != 1 {
		t.Fatalf("Lookup(7) within the interval = %v, %v after %d walks; want the last walk's answer", refs, err, f.walks.Load())
	}
	start := time.Now()
	if refs, err := f.Candidates(8, false); err != nil || !slices.Equal(refs, []Ref{{10, 4}}) {
		t.Fatalf("Candidates(8) = %v, %v", refs, err)
	}
	if took := time.Since(start); f.walks.Load() != 2 || took > interval+time.Second {
		t.Fatalf("Candidates(8): %d walks, took %v", f.walks.Load(), took)
	}
	time.Sleep(interval)
	if refs, err := f.Lookup(7); err != nil || !slices.Equal(refs, []Ref{{10, 3}}) {
		t.Fatalf("Lookup(7) after the interval = %v, %v", refs, err)
	}
	// The holder closes it: a fresh look waits for a walk after it.
	f.index.Store(&map[uint64][]Ref{8: {{10, 4}}})
	time.Sleep(interval)
	if refs, err := f.Candidates(7, true); err != nil || refs != nil {
		t.Fatalf("Candidates(7, fresh) after close = %v, %v", refs, err)
	}
	// The walks: Lookup(7)'s, Candidates(8)'s (which found 7 too), the
	// fresh look's.
	if n := f.walks.Load(); n != 3 {
		t.Fatalf("%d walks, want 3", n)
	}
}

// After a walk that found every inode lookups asked of it, a lookup of a
// socket made since waits for the next walk and finds it: a program that
// makes sockets one after another and reads each at once sees every one.
func TestLookupAfterWalkThatFound(t *testing.T) {
	const interval = 50 * time.Millisecond
	f := newFake(t, map[uint64][]Ref{1: {{10, 3}}}, 0)
	f.interval = interval
	for ino := uint64(1); ino <= 5; ino++ {
		if ino > 1 {
			m := maps.Clone(*f.index.Load())
			m[ino] = []Ref{{10, int(ino) + 2}}
			f.index.Store(&m)
		}
		if refs, err := f.Lookup(ino); err != nil || !slices.Equal(refs, []Ref{{10, int(ino) + 2}}) {
			t.Fatalf("Lookup(%d) of a socket made just now = %v, %v", ino, refs, err)
		}
	}
	if n := f.walks.Load(); n != 5 {
		t.Fatalf("%d walks, want 5", n)
	}
}

// A walk that does not end gives every waiter ETIMEDOUT at its deadline,
// and no second walk starts while it runs.
func TestBlockedWalkTimesOut(t *testing.T) {
	f := newFake(t, map[uint64][]Ref{}, 1)
	f.walkTimeout = 100 * time.Millisecond
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			within(t, 2*time.Second, "a miss during a blocked walk", func() {
				var err error
				if i == 2 {
					_, err = f.Candidates(5, false)
				} else {
					_, err = f.Lookup(uint64(i))
				}
				if !errors.Is(err, syscall.ETIMEDOUT) || err.Error() != "holder index: /proc walk exceeded 100ms" {
					t.Errorf("miss %d: %v, want ETIMEDOUT", i, err)
				}
			})
		})
	}
	wg.Wait()
	if n := f.walks.Load(); n != 1 {
		t.Fatalf("%d walks, want 1", n)
	}
}

// fakeProc makes x's scan read pids whose fds are one socket each, inode
// 100 x pid; a read of a pid in blocked waits for its channel.
func fakeProc(x *Index, pids []int, blocked map[int]chan struct{}) *sync.Map {
	var reads sync.Map // pid -> *atomic.Int32
	x.pids = func() []int { return pids }
	x.readFds = func(pid int, _, _ []byte, progress *atomic.Uint64) []fdSocket {
		n, _ := reads.LoadOrStore(pid, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		if c := blocked[pid]; c != nil {
			<-c
		}
		progress.Add(1)
		return []fdSocket{{3, uint64(100 * pid)}}
	}
	return &reads
}

func readsOf(reads *sync.Map, pid int) int32 {
	n, ok := reads.Load(pid)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// A process whose read blocks is skipped, its holders kept as the last
// walk found them, and skipped again until slowFor after its read ended.
func TestScanSkipsBlockedPid(t *testing.T) {
	x := NewIndex()
	x.pidTimeout = 100 * time.Millisecond
	gate := make(chan struct{})
	reads := fakeProc(x, []int{1, 2, 3}, map[int]chan struct{}{2: gate})
	prev := map[uint64][]Ref{200: {{2, 3}}, 999: {{4, 3}}}
	x.cur.Store(&prev)

	want := map[uint64][]Ref{100: {{1, 3}}, 200: {{2, 3}}, 300: {{3, 3}}}
	scan := func(what string) {
		t.Helper()
		within(t, 2*time.Second, what, func() {
			idx, err := x.scan(time.Now().Add(time.Minute))
			if err != nil || len(idx) != len(want) {
				t.Errorf("%s: %v, %v; want %v", what, idx, err, want)
			}
			for ino, refs := range want {
				if !slices.Equal(idx[ino], refs) {
					t.Errorf("%s: %d held by %v, want %v", what, ino, idx[ino], refs)
				}
			}
		})
	}
	scan("a walk with a blocked pid")
	scan("a walk while it is still blocked")
	if n := readsOf(reads, 2); n != 1 {
		t.Fatalf("pid 2 read %d times while blocked, want 1", n)
	}
	close(gate)
	waitFor(t, "the blocked read to end", func() bool { x.mu.Lock(); defer x.mu.Unlock(); return x.stuck == 0 })
	scan("a walk just after")
	if n := readsOf(reads, 2); n != 1 {
		t.Fatalf("pid 2 read %d times within slowFor, want 1", n)
	}
	time.Sleep(x.slowFor)
	scan("a walk after slowFor")
	if n := readsOf(reads, 2); n != 2 {
		t.Fatalf("pid 2 read %d times after slowFor, want 2", n)
	}
}

// However many processes block, at most maxStuck goroutines (and the
// walk's first workers) are left blocked; then walks fail with EAGAIN.
func TestScanBoundsStuckReads(t *testing.T) {
	x := NewIndex()
	x.pidTimeout, x.walkTimeout = 20*time.Millisecond, 200*time.Millisecond
	gate := make(chan struct{})
	var pids []int
	blocked := map[int]chan struct{}{}
	for pid := 1; pid <= 200; pid++ {
		pids = append(pids, pid)
		blocked[pid] = gate
	}
	reads := fakeProc(x, pids, blocked)
	limit := maxStuck + 2*runtime.GOMAXPROCS(0)
	for range 20 {
		_, err := x.scan(time.Now().Add(500 * time.Millisecond))
		started := 0
		for _, pid := range pids {
			started += int(readsOf(reads, pid))
		}
		x.mu.Lock()
		stuck := x.stuck
		x.mu.Unlock()
		if started > limit || stuck != started {
			t.Fatalf("%d reads started, %d stuck; want at most %d", started, stuck, limit)
		}
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err == nil {
			t.Fatal("a walk of blocked processes succeeded")
		}
	}
	if _, err := x.scan(time.Now().Add(time.Second)); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("a walk with the most reads stuck: %v, want EAGAIN", err)
	}
	close(gate)
	waitFor(t, "the blocked reads to end", func() bool { x.mu.Lock(); defer x.mu.Unlock(); return x.stuck == 0 })
}

// Against the real /proc: a socket of this process is found, a socket made
// just after a walk is found by a dump's Candidates at once and by Lookup
// after the interval, and a closed one is gone.
func TestRealProc(t *testing.T) {
	sock := func() (int, uint64) {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return fd, st.Ino
	}
	me := os.Getpid()
	x := NewIndex()
	fd1, ino1 := sock()
	defer unix.Close(fd1)
	if refs, err := x.Lookup(ino1); err != nil || !slices.Contains(refs, Ref{me, fd1}) {
		t.Fatalf("Lookup(%d) = %v, %v; want (%d, %d)", ino1, refs, err, me, fd1)
	}
	fd2, ino2 := sock()
	defer unix.Close(fd2)
	if refs, err := x.Candidates(ino2, false); err != nil || !slices.Contains(refs, Ref{me, fd2}) {
		t.Fatalf("Candidates(%d) of a new socket = %v, %v", ino2, refs, err)
	}
	fd3, ino3 := sock()
	defer unix.Close(fd3)
	time.Sleep(x.interval)
	if refs, err := x.Lookup(ino3); err != nil || !slices.Contains(refs, Ref{me, fd3}) {
		t.Fatalf("Lookup(%d) after the interval = %v, %v", ino3, refs, err)
	}
	unix.Close(fd1)
	if refs, err := x.Lookup(ino1); err != nil || len(refs) != 0 {
		t.Fatalf("Lookup(%d) after close = %v, %v", ino1, refs, err)
	}
}
