package netlinkio

import (
	"slices"
	"sync"
	"time"
)

// listFresh is how long one sock_diag dump answers for; far below the
// second within which a closed socket must leave the tree.
const listFresh = 100 * time.Millisecond

// sharedListing runs at most one listing at a time and shares its result
// with every caller that asked while it ran or within listFresh after.
type sharedListing struct {
	mu      sync.Mutex
	running *listCall
	last    *listCall
}

type listCall struct {
	done  chan struct{}
	at    time.Time
	socks []Socket
	err   error
}

func (l *sharedListing) get(list func() ([]Socket, error)) ([]Socket, error) {
	l.mu.Lock()
	if c := l.last; c != nil && c.err == nil && time.Since(c.at) < listFresh {
		l.mu.Unlock()
		return slices.Clone(c.socks), nil
	}
	c := l.running
	if c == nil {
		c = &listCall{done: make(chan struct{}), at: time.Now()}
		l.running = c
		go func() {
			c.socks, c.err = list()
			l.mu.Lock()
			l.running, l.last = nil, c
			l.mu.Unlock()
			close(c.done)
		}()
	}
	l.mu.Unlock()
	<-c.done
	return slices.Clone(c.socks), c.err
}
