// Package parallel runs a function over many items with a few goroutines.
package parallel

import (
	"sync"
	"sync/atomic"
)

// Run calls do(i) for every i in [0, n) from up to workers goroutines (at
// least one) and returns when every call has. Workers take the next index
// from a shared counter: cheaper than a channel handoff per item.
func Run(n, workers int, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				do(int(i))
			}
		}()
	}
	wg.Wait()
}
