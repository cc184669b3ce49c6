package benchfloor

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// ReaderStats is what one ExactReader run did.
type ReaderStats struct {
	Listed, Dumped, Gone int
	Load, List, Dump     time.Duration
}

// ExactReader is the exact reader alone, the measure issue 11 holds to
// 0.1x the floor: it loads the BPF program once, lists the sockets through
// it, keeps this network namespace's, and builds every image from the
// listing's pass (exact.ListBatch, the path of `inetcr dump --all --netns
// self`), but
// encodes nothing and writes nothing. A socket closed
// between the listing and its dump counts as gone, as in Run.
func ExactReader(workers int) (ReaderStats, error) {
	var st ReaderStats
	t0 := time.Now()
	e, err := exact.Open(exact.Config{})
	if err != nil {
		return st, err
	}
	defer e.Close()
	st.Load = time.Since(t0)
	t0 = time.Now()
	socks, dump, err := e.ListBatch()
	if err != nil {
		return st, err
	}
	st.List = time.Since(t0)
	// This namespace's sockets, as the floor lists and as `dump --all
	// --netns self` keeps: the program's pass reads every namespace's.
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return st, err
	}
	var inodes []uint64
	for _, s := range socks {
		if s.Netns == self.Ino {
			inodes = append(inodes, s.Inode)
		}
	}
	st.Listed = len(inodes)
	t0 = time.Now()
	var dumped, gone atomic.Int64
	var firstErr atomic.Pointer[error]
	dump(inodes, max(workers, 1), func(ino uint64, img *image.Image, err error) {
		switch {
		case err == nil && img != nil:
			dumped.Add(1)
		case isGone(err):
			gone.Add(1)
		default:
			err = fmt.Errorf("socket %d: %w", ino, err)
			firstErr.CompareAndSwap(nil, &err)
		}
	})
	st.Dump = time.Since(t0)
	st.Dumped, st.Gone = int(dumped.Load()), int(gone.Load())
	if p := firstErr.Load(); p != nil {
		return st, *p
	}
	return st, nil
}

// isGone is a dump that found no socket: closed since the listing.
func isGone(err error) bool { return errors.Is(err, image.ErrNoSocket) }
