package image

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
)

// native is the host byte order in which netlink attributes travel.
var native = binary.NativeEndian

// Wire returns the attribute payload of a value and whether the attribute
// is present at all (a flag that is off is absent).
func (o *Option) Wire(v Value) ([]byte, bool) {
	b := o.appendWire(nil, v)
	if len(b) == 0 {
		return nil, false
	}
	return b[nlaHdrLen:native.Uint16(b)], true
}

// appendWire appends the value's attribute, padded, or nothing when it is
// absent. It writes into b directly, so that encoding a whole image
// allocates nothing per option.
func (o *Option) appendWire(b []byte, v Value) []byte {
	switch o.Kind {
	case Flag, BufLock:
		if v.Num == 0 {
			return b
		}
		return appendAttrHeader(b, o.Attr, 0)
	case U8:
		return append(appendAttrHeader(b, o.Attr, 1), byte(v.Num), 0, 0, 0)
	case U32, BufSize, IfIndexBE:
		return native.AppendUint32(appendAttrHeader(b, o.Attr, 4), uint32(v.Num))
	case Micros:
		return native.AppendUint64(appendAttrHeader(b, o.Attr, 8), v.Num) // Ext: appendExt
	case Linger:
		b = native.AppendUint32(appendAttrHeader(b, o.Attr, 8), uint32(v.Num))
		return native.AppendUint32(b, uint32(v.Num2))
	case IfName, InAddr, RawOptions:
		return AppendAttr(b, o.Attr, v.Bytes)
	}
	return b
}

// appendExt appends a Micros row's Ext attribute when the value needs it.
func (o *Option) appendExt(b []byte, v Value) []byte {
	if o.Kind != Micros || v.Num2 == 0 {
		return b
	}
	return native.AppendUint64(appendAttrHeader(b, o.Ext, 8), v.Num2)
}

// Unwire parses and validates an attribute payload.
func (o *Option) Unwire(b []byte) (Value, error) {
	if need := kinds[o.Kind].size; need >= 0 && len(b) != need {
		return Value{}, AttrErrorf(o.Attr, "length %d, want %d", len(b), need)
	}
	var v Value
	switch o.Kind {
	case Flag, BufLock:
		v.Num = 1
	case U8:
		v.Num = uint64(b[0])
	case U32, BufSize, IfIndexBE:
		v.Num = uint64(native.Uint32(b))
	case Micros:
		v.Num = native.Uint64(b)
	case Linger:
		v.Num, v.Num2 = uint64(native.Uint32(b)), uint64(native.Uint32(b[4:]))
	default:
		v.Bytes = append([]byte{}, b...)
	}
	return v, o.Check(v)
}

// Check validates a value against the row: range, length, form.
func (o *Option) Check(v Value) error {
	switch o.Kind {
	case Flag, BufLock:
		if v.Num > 1 {
			return AttrErrorf(o.Attr, "value %d is not 0 or 1", v.Num)
		}
	case Micros:
		if v.Num2 != 0 {
			if v.Num >= 1e6 {
				return AttrErrorf(o.Attr, "%d microseconds below the second of %s", v.Num, AttrName(o.Ext))
			}
			if v.Num2 <= (MaxMicros-v.Num)/1e6 {
				return AttrErrorf(o.Ext, "%d s with %d µs is at most %d µs: %s alone holds it", v.Num2, v.Num, uint64(MaxMicros), o.AttrName())
			}
			if v.Num2 > MaxTimeoutSec {
				return AttrErrorf(o.Ext, "%d s out of range 0-%d", v.Num2, uint64(MaxTimeoutSec))
			}
			return nil
		}
		if v.Num < o.Min || v.Num > o.Max {
			return AttrErrorf(o.Attr, "value %d out of range %d-%d", v.Num, o.Min, o.Max)
		}
	case U8, U32, IfIndexBE:
		if v.Num < o.Min || v.Num > o.Max {
			return AttrErrorf(o.Attr, "value %d out of range %d-%d", v.Num, o.Min, o.Max)
		}
	case BufSize:
		if v.Num < o.Min || v.Num > o.Max || v.Num%2 != 0 {
			return AttrErrorf(o.Attr, "value %d is not an even size in %d-%d", v.Num, o.Min, o.Max)
		}
	case Linger:
		if v.Num > 1 {
			return AttrErrorf(o.Attr, "l_onoff %d is not 0 or 1", v.Num)
		}
		if v.Num2 > o.Max {
			return AttrErrorf(o.Attr, "l_linger %d out of range 0-%d", v.Num2, o.Max)
		}
	case IfName:
		if len(v.Bytes) > 15 {
			return AttrErrorf(o.Attr, "interface name of %d bytes, at most 15", len(v.Bytes))
		}
		if !validIfName(v.Bytes) {
			return AttrErrorf(o.Attr, "interface name %q: only printable ASCII without slash, colon or space", v.Bytes)
		}
	case InAddr:
		if len(v.Bytes) != 4 {
			return AttrErrorf(o.Attr, "address of %d bytes, want 4", len(v.Bytes))
		}
	case RawOptions:
		if len(v.Bytes) > MaxIPOptions {
			return AttrErrorf(o.Attr, "%d bytes of IP options; at most %d", len(v.Bytes), MaxIPOptions)
		}
		if len(v.Bytes)%4 != 0 {
			return AttrErrorf(o.Attr, "IP options of length %d, not a multiple of 4 (pad with 00)", len(v.Bytes))
		}
	}
	return nil
}

// Format returns the text of a value as the tree shows it, without the
// trailing newline.
func (o *Option) Format(v Value) string {
	switch o.Kind {
	case Linger:
		return strconv.FormatUint(v.Num, 10) + " " + strconv.FormatUint(v.Num2, 10)
	case IfName:
		return string(v.Bytes)
	case InAddr:
		if len(v.Bytes) != 4 {
			return ""
		}
		return netip.AddrFrom4([4]byte(v.Bytes)).String()
	case RawOptions:
		return hex.EncodeToString(v.Bytes)
	case Micros:
		if v.Num2 != 0 {
			return fmt.Sprintf("%d%06d", v.Num2, v.Num)
		}
	}
	return strconv.FormatUint(v.Num, 10)
}

// Parse reads a value from text as written to the tree: one value, one
// optional trailing newline, integers in decimal or 0x-hex.
func (o *Option) Parse(text string) (Value, error) {
	s := strings.TrimSuffix(text, "\n")
	if strings.ContainsAny(s, "\n") {
		return Value{}, &AttrError{Attr: o.Path(), Reason: "more than one line"}
	}
	s = strings.TrimSpace(s)
	bad := func(why string) (Value, error) {
		return Value{}, &AttrError{Attr: o.Path(), Reason: strconv.Quote(s) + " " + why}
	}
	var v Value
	switch o.Kind {
	case Linger:
		f := strings.Fields(s)
		if len(f) != 2 {
			return bad("is not \"ONOFF SECONDS\"")
		}
		a, err1 := parseUint(f[0])
		b, err2 := parseUint(f[1])
		if err1 != nil || err2 != nil {
			return bad("is not two integers")
		}
		v.Num, v.Num2 = a, b
	case IfName:
		v.Bytes = []byte(s)
	case InAddr:
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return bad("is not a dotted-quad IPv4 address")
		}
		b := a.As4()
		v.Bytes = b[:]
	case RawOptions:
		b, err := hex.DecodeString(s)
		if err != nil {
			return bad("is not hex")
		}
		v.Bytes = b
	case Micros:
		sec, usec, err := parseMicros(s)
		if err != nil {
			return bad("is not a non-negative integer of microseconds up to " + strconv.FormatUint(MaxTimeoutSec, 10) + "999999")
		}
		v = MicrosValue(sec, usec)
	default:
		n, err := parseUint(s)
		if err != nil {
			return bad("is not a non-negative integer")
		}
		v.Num = n
	}
	if err := o.Check(v); err != nil {
		return Value{}, Rename(err, o.Path())
	}
	return v, nil
}

func parseUint(s string) (uint64, error) {
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		if rest == "" || strings.HasPrefix(rest, "+") {
			return 0, strconv.ErrSyntax
		}
		return strconv.ParseUint(rest, 16, 64)
	}
	if strings.HasPrefix(s, "+") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, 64)
}

// parseMicros reads a number of microseconds as parseUint does, however
// large, and splits it into whole seconds and microseconds.
func parseMicros(s string) (sec, usec uint64, err error) {
	if n, err := parseUint(s); err == nil {
		return n / 1e6, n % 1e6, nil
	} else if !errors.Is(err, strconv.ErrRange) {
		return 0, 0, err
	}
	n, ok := new(big.Int), false
	if rest, hex := strings.CutPrefix(strings.ToLower(s), "0x"); hex {
		_, ok = n.SetString(rest, 16)
	} else {
		_, ok = n.SetString(s, 10)
	}
	if !ok || n.Sign() < 0 {
		return 0, 0, strconv.ErrSyntax
	}
	q, r := n.QuoRem(n, big.NewInt(1e6), new(big.Int))
	if !q.IsUint64() || q.Uint64() > MaxTimeoutSec {
		return 0, 0, strconv.ErrRange
	}
	return q.Uint64(), r.Uint64(), nil
}

// validIfName follows the kernel's dev_valid_name, narrowed to printable
// ASCII so that every name survives text and JSON unchanged.
func validIfName(b []byte) bool {
	if string(b) == "." || string(b) == ".." {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' || c == '/' || c == ':' {
			return false
		}
	}
	return true
}
