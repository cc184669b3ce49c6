package exact

import (
	"bytes"
	"encoding/binary"
	"maps"
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestEnumIDsFindEveryEnum: the enums found from the types' headers alone
// are every enum a walk over all the kernel's types finds, with the same
// values, sock_flags and the anonymous inet_flags among them.
func TestEnumIDsFindEveryEnum(t *testing.T) {
	raw, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ids, ok := enumIDs(raw)
	if !ok {
		t.Fatal("enumIDs does not understand the kernel's BTF")
	}
	fast := enumValues(kernel, raw)
	slow := enumValues(kernel, nil) // no blob: every type inflated
	if !maps.Equal(fast, slow) {
		t.Errorf("%d enums by header give %d values, a walk of every type %d", len(ids), len(fast), len(slow))
	}
	for _, k := range []string{"sock_flags.SOCK_BROADCAST", ".INET_FLAGS_PKTINFO"} {
		if _, ok := fast[k]; !ok {
			t.Errorf("no %s among %d values", k, len(fast))
		}
	}
}

// TestEnumIDsRefuses: a blob it cannot read whole is refused, so that
// enumValues falls back to every type rather than miss an enum.
func TestEnumIDsRefuses(t *testing.T) {
	header := func(typeLen uint32) []byte {
		b := binary.NativeEndian.AppendUint16(nil, btfMagic)
		b = append(b, 1, 0)
		for _, v := range []uint32{24, 0, typeLen, typeLen, 0} { // hdr_len, type_off, type_len, str_off, str_len
			b = binary.NativeEndian.AppendUint32(b, v)
		}
		return b
	}
	typ := func(kind, vlen uint32) []byte {
		b := binary.NativeEndian.AppendUint32(nil, 0)
		b = binary.NativeEndian.AppendUint32(b, kind<<24|vlen)
		return binary.NativeEndian.AppendUint32(b, 4)
	}
	enum := append(typ(btfKindEnum, 1), make([]byte, 8)...)
	for _, c := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"one enum", append(header(uint32(len(enum))), enum...), true},
		{"short", []byte{0x9f, 0xeb}, false},
		{"other magic", append([]byte{0xeb, 0x9f}, header(0)[2:]...), false},
		{"types past the end", header(100), false},
		{"unknown kind", append(header(12), typ(25, 0)...), false},
		{"a member cut off", append(header(16), enum[:16]...), false},
	} {
		ids, ok := enumIDs(c.raw)
		if ok != c.ok || ok && (len(ids) != 1 || ids[0] != 1) {
			t.Errorf("%s: ids %v, ok %v; want ok %v", c.name, ids, ok, c.ok)
		}
	}
}
