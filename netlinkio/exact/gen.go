package exact

// The BPF program is C (bpf/iter.bpf.c) compiled by clang with CO-RE
// relocations; bpf2go turns it into iter_bpfel.o and the Go that loads it
// (iter_bpfel.go), both committed, so that go build needs no clang.
// TestGeneratedIsCurrent compiles it again where clang is and compares.
// Run `go generate ./netlinkio/exact` after changing the C.
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip -target bpfel iter bpf/iter.bpf.c -- -I/usr/include/bpf -O2 -g -Wall -Werror
