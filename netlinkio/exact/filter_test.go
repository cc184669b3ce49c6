package exact_test

import (
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/google/go-cmp/cmp"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// An eBPF socket filter has no classic program for SO_GET_FILTER to give
// back (EACCES): the exact reader, which reads sk_filter itself, says so
// as the stock reader does (filter Num 1), and a classic one it gives
// instruction for instruction. The socket is this process's own, which
// the exact reader reads like any holder's.
func TestFilterKinds(t *testing.T) {
	e, st := open(t), stock.NewStock()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.SocketFilter,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	filter, ok := image.LookupOption("sockopt", "filter")
	if !ok {
		t.Fatal("no row sockopt/filter")
	}
	// ld #1; ld #2; ... ld #8; ret #0xffff: 72 bytes, more than one of
	// the program's 32-byte chunks.
	var classic []byte
	for i := range 8 {
		classic = append(classic, 0, 0, 0, 0, byte(i+1), 0, 0, 0)
	}
	classic = append(classic, 6, 0, 0, 0, 0xff, 0xff, 0, 0)
	for _, c := range []struct {
		name   string
		attach func(fd int) error
		want   image.Value
	}{
		{"none", func(int) error { return nil }, image.Value{Bytes: []byte{}}},
		{"ebpf", func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, prog.FD()) }, image.Value{Num: 1}},
		{"classic", func(fd int) error {
			return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(classic) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&classic[0]))})
		}, image.Value{Bytes: classic}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := c.attach(fd); err != nil {
				t.Fatal(err)
			}
			var s unix.Stat_t
			if err := unix.Fstat(fd, &s); err != nil {
				t.Fatal(err)
			}
			got, want := netnstest.Dump(t, e, s.Ino), netnstest.Dump(t, st, s.Ino)
			if !got.Values[filter.Attr].Equal(c.want) || !want.Values[filter.Attr].Equal(c.want) {
				t.Errorf("filter: exact %s, stock %s, want %s", filter.Format(got.Values[filter.Attr]), filter.Format(want.Values[filter.Attr]), filter.Format(c.want))
			}
			if diff := cmp.Diff(shared(want).Values, shared(got).Values); diff != "" {
				t.Errorf("stock and exact differ (-stock +exact):\n%s", diff)
			}
		})
	}
}
