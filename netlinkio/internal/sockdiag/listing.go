package sockdiag

import (
	"github.com/inetcr/inetcr/netlinkio/image"
	"slices"
	"sync"
	"time"
)

// A listing answers again for listFresh(d) after it ended, d being how long
// it took. Counting from the end, and for at least its own duration, means
// that a listing slower than listFreshMin (0.25 s at 100,000 sockets) is
// still reused: a burst of callers spends at most half its time listing
// (for a listing of up to listFreshMax) instead of listing back to back. The cap bounds how stale an answer can
// be: a socket closed just after the kernel dumped it stays listed for the
// dump's duration plus its freshness, at most 2 x listFreshMax = 600 ms for
// a dump of up to 300 ms; with the tree's own 200 ms cache on top a closed
// socket still leaves the tree within the second the design allows.
const (
	listFreshMin = 100 * time.Millisecond
	listFreshMax = 300 * time.Millisecond
)

func listFresh(took time.Duration) time.Duration {
	return min(max(took, listFreshMin), listFreshMax)
}

// Shared runs at most one listing at a time and shares its result
// with every caller that asked while it ran or while it was fresh after.
// Every caller gets the same slice: no copy per caller, so a burst of
// lookups costs one listing and no more memory than one.
type Shared struct {
	mu      sync.Mutex
	running *listCall
	last    *listCall
}

type listCall struct {
	done  chan struct{}
	end   time.Time     // when the listing returned
	fresh time.Duration // how long after end it answers for
	socks []image.Socket
	err   error
}

func (l *Shared) Get(list func() ([]image.Socket, error)) ([]image.Socket, error) {
	l.mu.Lock()
	if c := l.last; c != nil && c.err == nil && time.Since(c.end) < c.fresh {
		l.mu.Unlock()
		return c.socks, nil
	}
	c := l.running
	if c == nil {
		c = &listCall{done: make(chan struct{})}
		l.running = c
		go func() {
			start := time.Now()
			socks, err := list()
			end := time.Now()
			l.mu.Lock()
			// Clipped, so that a caller's append copies the slice rather
			// than writing past its end into memory another caller's
			// append may also use.
			c.socks, c.err = slices.Clip(socks), err
			c.end, c.fresh = end, listFresh(end.Sub(start))
			l.running, l.last = nil, c
			l.mu.Unlock()
			close(c.done)
		}()
	}
	l.mu.Unlock()
	<-c.done
	return c.socks, c.err
}
