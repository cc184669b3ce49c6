package benchfloor_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/internal/benchfloor"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

func TestMain(m *testing.M) { netnstest.Main(m) }

// sockets makes n bound UDP sockets held by two other processes, as the
// harness does (scripts/bench/run.sh), 127.0.0.1 and 127.0.0.2.
func sockets(tb testing.TB, n int) []uint64 {
	tb.Helper()
	a := netnstest.NewHolder(tb).Many(n/2, "127.0.0.1")
	return append(a, netnstest.NewHolder(tb).Many(n-n/2, "127.0.0.2")...)
}

func TestFloorFindsEverySocket(t *testing.T) {
	inodes := sockets(t, 200)
	st, err := benchfloor.Run(benchfloor.DefaultWorkers())
	if err != nil {
		t.Fatal(err)
	}
	if st.Listed < len(inodes) || st.Held < len(inodes) || st.Dumped < len(inodes) {
		t.Fatalf("%d sockets made, floor: %+v", len(inodes), st)
	}
	// SO_DOMAIN, SO_TYPE, SO_PROTOCOL, getsockname, getpeername, the
	// datagram rows of the table and one probe per igmp candidate.
	min := int64(len(inodes)) * int64(5+len(image.OptionsFor(syscall.AF_INET, syscall.SOCK_DGRAM)))
	if st.Calls < min {
		t.Fatalf("%d socket calls for %d sockets, want at least %d", st.Calls, st.Dumped, min)
	}
}

// benchFloor is the floor (one process's work) over n sockets.
func benchFloor(b *testing.B, n int) {
	sockets(b, n)
	workers := benchfloor.DefaultWorkers()
	b.ResetTimer()
	for b.Loop() {
		st, err := benchfloor.Run(workers)
		if err != nil || st.Dumped < n {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/socket")
}

// benchDumpAll is the engine's side of the same work: a listing, then
// netlinkio.DumpAll with the same number of workers (inetcr dump --all
// without writing the files).
func benchDumpAll(b *testing.B, n int) {
	sockets(b, n)
	workers := benchfloor.DefaultWorkers()
	b.ResetTimer()
	for b.Loop() {
		s := stock.NewStock()
		list, err := s.List()
		if err != nil {
			b.Fatal(err)
		}
		inodes := make([]uint64, len(list))
		for i, x := range list {
			inodes[i] = x.Inode
		}
		netlinkio.DumpAll(s, inodes, workers, func(ino uint64, img *image.Image, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/socket")
}

func BenchmarkFloor1000(b *testing.B)    { benchFloor(b, 1000) }
func BenchmarkDumpAll1000(b *testing.B)  { benchDumpAll(b, 1000) }
func BenchmarkFloor10000(b *testing.B)   { skipShort(b); benchFloor(b, 10000) }
func BenchmarkDumpAll10000(b *testing.B) { skipShort(b); benchDumpAll(b, 10000) }

func skipShort(b *testing.B) {
	if testing.Short() || os.Getenv("INETCR_BENCH_SMALL") != "" {
		b.Skip("10,000 sockets: not in -short")
	}
}

// TestExactReaderBuildsEveryImage: the reader alone lists and builds an
// image of every socket the holders hold.
func TestExactReaderBuildsEveryImage(t *testing.T) {
	inodes := sockets(t, 200)
	st, err := benchfloor.ExactReader(benchfloor.DefaultWorkers())
	if err != nil {
		t.Fatal(err)
	}
	if st.Listed < len(inodes) || st.Dumped < len(inodes) || st.Load <= 0 {
		t.Fatalf("%d sockets made, exact reader: %+v", len(inodes), st)
	}
}

// BenchmarkExactReader10000 is the exact reader alone over 10,000 sockets,
// its program's load included (inetcr-floor -exact), beside
// BenchmarkFloor10000.
func BenchmarkExactReader10000(b *testing.B) {
	skipShort(b)
	sockets(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		st, err := benchfloor.ExactReader(benchfloor.DefaultWorkers())
		if err != nil || st.Dumped < 10000 {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/socket")
}
