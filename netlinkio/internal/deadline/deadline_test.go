package deadline

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestCallReturnsInTime(t *testing.T) {
	v, err := Call("quick", time.Second, func() (int, error) { return 7, nil }, func(int) { t.Error("cleanup of a result that was returned") })
	if v != 7 || err != nil {
		t.Fatalf("got %d, %v", v, err)
	}
}

// TestCallGivesUpAndCleansUp: a call past its deadline gives EAGAIN at the
// deadline; its result, when it comes, is cleaned up, and it no longer
// counts as abandoned.
func TestCallGivesUpAndCleansUp(t *testing.T) {
	release := make(chan struct{})
	cleaned := make(chan int, 1)
	start := time.Now()
	_, err := Call("a stuck holder", 20*time.Millisecond, func() (int, error) { <-release; return 9, nil }, func(v int) { cleaned <- v })
	if !errors.Is(err, syscall.EAGAIN) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v, want EAGAIN at the deadline", err, time.Since(start))
	}
	if n := abandoned.Load(); n != 1 {
		t.Fatalf("%d abandoned, want 1", n)
	}
	close(release)
	if v := <-cleaned; v != 9 {
		t.Fatalf("cleaned up %d", v)
	}
	for deadline := time.Now().Add(time.Second); abandoned.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ended call still counts as abandoned")
		}
	}
}

// TestCallRefusesPastTheBound: with MaxAbandoned calls stuck, the next
// fails at once.
func TestCallRefusesPastTheBound(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for i := 0; i < MaxAbandoned; i++ {
		Call("stuck", time.Millisecond, func() (int, error) { <-release; return 0, nil }, func(int) {})
	}
	start := time.Now()
	_, err := Call("one more", time.Hour, func() (int, error) { return 1, nil }, func(int) {})
	if !errors.Is(err, syscall.EAGAIN) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("got %v after %v, want EAGAIN at once", err, time.Since(start))
	}
}
