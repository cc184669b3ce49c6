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

// DumpFunc dumps sockets of a listing, as DumpAll does.
type DumpFunc func(inodes []uint64, workers int, each func(inode uint64, img *image.Image, err error))

// ListBatcher is a Backend that can dump what it lists from the same read
// of the host (the exact reader: one pass lists and dumps).
type ListBatcher interface {
	ListBatch() ([]image.Socket, func(inodes []uint64, workers int, each func(uint64, *image.Image, error)), error)
}

// ListForDump lists the sockets and returns how to dump the ones the
// caller picks: from the listing's own read where the backend is a
// ListBatcher, else with DumpAll (`inetcr dump --all`).
func ListForDump(b Backend) ([]image.Socket, DumpFunc, error) {
	if lb, ok := b.(ListBatcher); ok {
		list, dump, err := lb.ListBatch()
		return list, dump, err
	}
	list, err := b.List()
	if err != nil {
		return nil, nil, err
	}
	return list, func(inodes []uint64, workers int, each func(uint64, *image.Image, error)) {
		DumpAll(b, inodes, workers, each)
	}, nil
}
