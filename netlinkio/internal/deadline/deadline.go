// Package deadline bounds a wait on another process: a system call that
// can block on a task (pidfd_getfd waits for a holder's exec to finish)
// runs in a goroutine of its own, and the caller gives up after a while.
// The call cannot be cancelled, so it goes on; what it returns is cleaned
// up when it ends. The number of calls left running so is bounded: past
// it, new calls fail at once rather than pile up threads.
package deadline

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MaxAbandoned is how many calls may be left running at once.
const MaxAbandoned = 64

var abandoned atomic.Int32

// TimeoutError is a call given up on; it unwraps to EAGAIN, a wait that
// may succeed later.
type TimeoutError struct {
	What  string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s did not answer within %v", e.What, e.After)
}

func (e *TimeoutError) Unwrap() error { return syscall.EAGAIN }

// Call runs call and returns its result if it ends within d; otherwise it
// returns a *TimeoutError naming what, and cleanup gets the result once the
// call ends.
func Call[T any](what string, d time.Duration, call func() (T, error), cleanup func(T)) (T, error) {
	var zero T
	if abandoned.Load() >= MaxAbandoned {
		return zero, &TimeoutError{What: what + " (too many calls already waiting)", After: 0}
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	var mu sync.Mutex // orders the call's end against the give-up
	gaveUp := false
	go func() {
		v, err := call()
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			if err == nil {
				cleanup(v)
			}
			abandoned.Add(-1)
			return
		}
		done <- result{v, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-done: // it ended meanwhile
		return r.v, r.err
	default:
	}
	gaveUp = true
	abandoned.Add(1)
	return zero, &TimeoutError{What: what, After: d}
}
