package exact_test

import (
	"sync/atomic"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// BenchmarkLoad is the program's load: once per mount or command.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		e, err := exact.Open(exact.Config{})
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}

// BenchmarkDumpAll is every image of 10,000 sockets, exact (one pass) and
// stock (its batch), no files written; pass-only is the exact reader's
// pass and images without the rows it asks of a duplicate with getsockopt
// (docs/performance.md, "The exact reader").
func BenchmarkDumpAll(b *testing.B) {
	h := netnstest.NewHolder(b)
	inodes := h.Many(10000, "127.0.0.1")
	e, err := exact.Open(exact.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.Run("pass-only", func(b *testing.B) {
		for b.Loop() {
			n, err := e.PassImages()
			if err != nil || n < len(inodes) {
				b.Fatalf("%d of %d images: %v", n, len(inodes), err)
			}
		}
	})
	dumpAllBoth(b, e, inodes)
}

// dumpAllBoth times every image of inodes, exact (one pass) and stock
// (its batch), no files written.
func dumpAllBoth(b *testing.B, e *exact.Exact, inodes []uint64) {
	for _, be := range []netlinkio.Backend{e, stock.NewStock()} {
		b.Run(be.Name(), func(b *testing.B) {
			for b.Loop() {
				var n atomic.Int64 // each is called from every worker
				netlinkio.DumpAll(be, inodes, 2, func(_ uint64, img *image.Image, err error) {
					if err == nil {
						n.Add(1)
					}
				})
				if n.Load() != int64(len(inodes)) {
					b.Fatalf("%d of %d dumped", n.Load(), len(inodes))
				}
			}
		})
	}
}

// BenchmarkDumpAll6 is BenchmarkDumpAll's for 10,000 AF_INET6 UDP sockets:
// the exact reader reads their ipv6_pinfo itself.
func BenchmarkDumpAll6(b *testing.B) {
	h := netnstest.NewHolder(b)
	var r struct {
		Inodes []uint64 `json:"inodes"`
	}
	h.Must(map[string]any{"op": "many", "count": 10000, "bind": "::1", "family": 6}, &r)
	e, err := exact.Open(exact.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	dumpAllBoth(b, e, r.Inodes)
}

// BenchmarkDumpAllTCP is BenchmarkDumpAll's for 10,000 bound TCP sockets:
// the exact reader reads their tcp_sock itself, where it once asked
// every tcpopt row of a duplicate.
func BenchmarkDumpAllTCP(b *testing.B) {
	h := netnstest.NewHolder(b)
	var r struct {
		Inodes []uint64 `json:"inodes"`
	}
	h.Must(map[string]any{"op": "many", "count": 10000, "bind": "127.0.0.1", "type": "tcp"}, &r)
	e, err := exact.Open(exact.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	dumpAllBoth(b, e, r.Inodes)
}
