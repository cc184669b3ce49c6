package stock_test

import (
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// benchSockets makes n bound UDP sockets held by another process.
func benchSockets(b *testing.B, n int) []uint64 {
	b.Helper()
	h := netnstest.NewHolder(b)
	return h.Many(n, "127.0.0.1")
}

// BenchmarkList1000 is `inetcr ls`'s work with 1,000 sockets: one
// sock_diag dump.
func BenchmarkList1000(b *testing.B) {
	benchSockets(b, 1000)
	stock := stock.NewStock()
	b.ResetTimer()
	for b.Loop() {
		list, err := stock.List()
		if err != nil || len(list) < 1000 {
			b.Fatalf("%d sockets, %v", len(list), err)
		}
	}
}

// BenchmarkList10000 is one full listing of 10,000 sockets: a fresh engine
// per iteration, so that no iteration answers from the previous one's
// shared listing and each pays the whole sock_diag dump and sort.
func BenchmarkList10000(b *testing.B) {
	benchSockets(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		list, err := stock.NewStock().List()
		if err != nil || len(list) < 10000 {
			b.Fatalf("%d sockets, %v", len(list), err)
		}
	}
}

// BenchmarkListShared10000 is what callers of one engine pay in a burst of
// lookups at 10,000 sockets, as the tree's path walks make: most answer
// from the shared listing, one in every freshness window lists again.
func BenchmarkListShared10000(b *testing.B) {
	benchSockets(b, 10000)
	stock := stock.NewStock()
	b.ResetTimer()
	for b.Loop() {
		list, err := stock.List()
		if err != nil || len(list) < 10000 {
			b.Fatalf("%d sockets, %v", len(list), err)
		}
	}
}

// BenchmarkDumpEach1000 dumps each of 1,000 sockets once per iteration,
// with the holder index warm, as `inetcr dump` run over every socket would.
func BenchmarkDumpEach1000(b *testing.B) {
	inodes := benchSockets(b, 1000)
	stock := stock.NewStock()
	b.ResetTimer()
	for b.Loop() {
		for _, ino := range inodes {
			if _, err := stock.Dump(ino); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(inodes)), "ns/socket")
}

// BenchmarkDumpOneCold is one `inetcr dump INODE` from a fresh engine among
// 1,000 sockets: the /proc walk that finds the holder plus the dump.
func BenchmarkDumpOneCold(b *testing.B) {
	inodes := benchSockets(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := stock.NewStock().Dump(inodes[500]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHoldersCold19000 finds the holder of one of 19,000 sockets from
// a fresh engine: one walk of /proc, the cost of a first read in the tree.
func BenchmarkHoldersCold19000(b *testing.B) {
	inodes := benchSockets(b, 19000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := stock.NewStock().Holders(inodes[len(inodes)/2]); err != nil {
			b.Fatal(err)
		}
	}
}
