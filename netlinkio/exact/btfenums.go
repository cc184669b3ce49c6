package exact

import (
	"encoding/binary"

	"github.com/cilium/ebpf/btf"
)

// The kinds of BTF types (include/uapi/linux/btf.h) and what follows each
// type's 12-byte header: a fixed size, or so many bytes per member (vlen).
const (
	btfKindEnum   = 6
	btfKindEnum64 = 19
	btfMagic      = 0xeb9f
)

var btfTrailer = [...]struct{ fixed, perMember int }{
	1:  {4, 0},  // INT
	2:  {0, 0},  // PTR
	3:  {12, 0}, // ARRAY
	4:  {0, 12}, // STRUCT
	5:  {0, 12}, // UNION
	6:  {0, 8},  // ENUM
	7:  {0, 0},  // FWD
	8:  {0, 0},  // TYPEDEF
	9:  {0, 0},  // VOLATILE
	10: {0, 0},  // CONST
	11: {0, 0},  // RESTRICT
	12: {0, 0},  // FUNC
	13: {0, 8},  // FUNC_PROTO
	14: {4, 0},  // VAR
	15: {0, 12}, // DATASEC
	16: {0, 0},  // FLOAT
	17: {4, 0},  // DECL_TAG
	18: {0, 0},  // TYPE_TAG
	19: {0, 12}, // ENUM64
}

// enumIDs finds the type ids of the enums in raw BTF (a base blob such as
// /sys/kernel/btf/vmlinux) by reading each type's header only. Inflating
// every type of the kernel's BTF to find its 2,000-odd enums took 160 ms
// and 40 MB of the program's load; the enums alone, looked up by id, take
// a few. ok is false for a blob it does not understand (another byte order,
// a kind it does not know): the caller then looks at every type.
func enumIDs(raw []byte) (ids []btf.TypeID, ok bool) {
	le := binary.NativeEndian
	if len(raw) < 24 || le.Uint16(raw) != btfMagic {
		return nil, false
	}
	hdrLen, typeOff, typeLen := le.Uint32(raw[4:]), le.Uint32(raw[8:]), le.Uint32(raw[12:])
	start, end := uint64(hdrLen)+uint64(typeOff), uint64(hdrLen)+uint64(typeOff)+uint64(typeLen)
	if end > uint64(len(raw)) {
		return nil, false
	}
	types := raw[start:end]
	off := 0
	for id := btf.TypeID(1); off < len(types); id++ {
		if off+12 > len(types) {
			return nil, false
		}
		info := le.Uint32(types[off+4:])
		kind, vlen := int(info>>24&0x1f), int(info&0xffff)
		if kind == 0 || kind >= len(btfTrailer) {
			return nil, false
		}
		if kind == btfKindEnum || kind == btfKindEnum64 {
			ids = append(ids, id)
		}
		t := btfTrailer[kind]
		off += 12 + t.fixed + vlen*t.perMember
	}
	return ids, off == len(types) // not a type cut off at the end

}
