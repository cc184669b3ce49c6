package procfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

// benchMisses makes 500 lookups of inodes no process holds on a new index,
// each op: name(i) gives the i-th inode. It reports the process's CPU time
// per op next to the wall time, since the walk of /proc is parallel.
func benchMisses(b *testing.B, name func(i int) uint64) {
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	for b.Loop() {
		x := NewIndex()
		for i := range 500 {
			x.Lookup(name(i))
		}
	}
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := func(r *unix.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
	b.ReportMetric(float64(cpu(&after)-cpu(&before))/float64(b.N), "cpu-ns/op")
}

// BenchmarkMissesDistinct is 500 lookups of distinct inodes that no
// process holds: a stat of each of 500 missing names.
func BenchmarkMissesDistinct(b *testing.B) {
	benchMisses(b, func(i int) uint64 { return 1<<62 + uint64(i) })
}

// BenchmarkMissesSame is 500 lookups of one inode that no process holds.
func BenchmarkMissesSame(b *testing.B) {
	benchMisses(b, func(int) uint64 { return 1 << 62 })
}
