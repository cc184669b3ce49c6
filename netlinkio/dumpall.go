package netlinkio

import (
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/parallel"
)

// BatchDumper is a Backend that dumps many sockets at once more cheaply
// than one by one; DumpAll uses it when a backend has it. The stock
// engine does.
type BatchDumper interface {
	// DumpBatch is DumpAll on this backend.
	DumpBatch(inodes []uint64, workers int, each func(inode uint64, img *image.Image, err error))
}

// DumpAll dumps many sockets with up to workers goroutines and calls each
// for every one, from any of those goroutines. A backend that is a
// BatchDumper dumps the batch itself (the stock engine shares a pidfd per
// holder process and its /proc/<pid>/net/igmp among the batch's sockets);
// any other is asked for one Dump per socket.
func DumpAll(b Backend, inodes []uint64, workers int, each func(inode uint64, img *image.Image, err error)) {
	if bd, ok := b.(BatchDumper); ok {
		bd.DumpBatch(inodes, workers, each)
		return
	}
	parallel.Run(len(inodes), workers, func(i int) {
		img, err := b.Dump(inodes[i])
		each(inodes[i], img, err)
	})
}
