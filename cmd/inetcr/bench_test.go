package main

import (
	"os/exec"
	"strconv"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// The command line as a user runs it, with 1,000 UDP sockets held by
// another process: each iteration is one whole process, start to exit.

func benchCLI(b *testing.B, args func(inodes []uint64) []string) {
	bin := buildInetcr(b)
	inodes := netnstest.NewHolder(b).Many(1000, "127.0.0.1")
	argv := args(inodes)
	b.ResetTimer()
	for b.Loop() {
		if out, err := exec.Command(bin, argv...).CombinedOutput(); err != nil {
			b.Fatalf("inetcr %v: %v\n%s", argv, err, out)
		}
	}
}

// BenchmarkCLILs1000 is `inetcr ls` (memberships counted) with 1,000 sockets.
func BenchmarkCLILs1000(b *testing.B) {
	benchCLI(b, func([]uint64) []string { return []string{"ls"} })
}

// BenchmarkCLIDump1000 is `inetcr dump -o FILE INODE` of one of 1,000 sockets.
func BenchmarkCLIDump1000(b *testing.B) {
	out := b.TempDir() + "/image.bin"
	benchCLI(b, func(inodes []uint64) []string {
		return []string{"dump", "-o", out, strconv.FormatUint(inodes[500], 10)}
	})
}
