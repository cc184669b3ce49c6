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
func (o *Option) appendWire(b []byte, v Value) []byte { return kinds[o.Kind].wire(b, o, v) }

// appendExt appends a Micros row's Ext attribute when the value needs it.
func (o *Option) appendExt(b []byte, v Value) []byte {
	if o.Kind != Micros || v.Num2 == 0 {
		return b
	}
	return native.AppendUint64(appendAttrHeader(b, o.Ext, 8), v.Num2)
}

// Unwire parses and validates an attribute payload.
func (o *Option) Unwire(b []byte) (Value, error) {
	k := &kinds[o.Kind]
	if need := k.size; need >= 0 && len(b) != need {
		return Value{}, AttrErrorf(o.Attr, "length %d, want %d", len(b), need)
	}
	v := k.unwire(b)
	return v, o.Check(v)
}

// Check validates a value against the row: range, length, form.
func (o *Option) Check(v Value) error { return kinds[o.Kind].check(o, v) }

// Format returns the text of a value as the tree shows it, without the
// trailing newline.
func (o *Option) Format(v Value) string { return kinds[o.Kind].format(v) }

// Parse reads a value from text as written to the tree: one value, one
// optional trailing newline, integers in decimal or 0x-hex.
func (o *Option) Parse(text string) (Value, error) {
	s := strings.TrimSuffix(text, "\n")
	if strings.ContainsAny(s, "\n") {
		return Value{}, &AttrError{Attr: o.Path(), Reason: "more than one line"}
	}
	s = strings.TrimSpace(s)
	v, why := kinds[o.Kind].parse(s)
	if why != "" {
		return Value{}, &AttrError{Attr: o.Path(), Reason: strconv.Quote(s) + " " + why}
	}
	if err := o.Check(v); err != nil {
		return Value{}, Rename(err, o.Path())
	}
	return v, nil
}

// The codecs of the kinds, by what they do: wire* append an attribute,
// unwire* read its payload (of the kind's size), check* judge a value,
// format* and parse* are its text (parse* returns why a text is not of the
// form), text* says what the text is for docs/image-format.md.

func wireFlag(b []byte, o *Option, v Value) []byte {
	if v.Num == 0 {
		return b
	}
	return appendAttrHeader(b, o.Attr, 0)
}

func wireU8(b []byte, o *Option, v Value) []byte {
	return append(appendAttrHeader(b, o.Attr, 1), byte(v.Num), 0, 0, 0)
}

func wireU32(b []byte, o *Option, v Value) []byte {
	return native.AppendUint32(appendAttrHeader(b, o.Attr, 4), uint32(v.Num))
}

func wireU64(b []byte, o *Option, v Value) []byte {
	return native.AppendUint64(appendAttrHeader(b, o.Attr, 8), v.Num) // Ext: appendExt
}

func wireLinger(b []byte, o *Option, v Value) []byte {
	b = native.AppendUint32(appendAttrHeader(b, o.Attr, 8), uint32(v.Num))
	return native.AppendUint32(b, uint32(v.Num2))
}

func wireBytes(b []byte, o *Option, v Value) []byte { return AppendAttr(b, o.Attr, v.Bytes) }

func unwireFlag([]byte) Value    { return Value{Num: 1} }
func unwireU8(b []byte) Value    { return Value{Num: uint64(b[0])} }
func unwireU32(b []byte) Value   { return Value{Num: uint64(native.Uint32(b))} }
func unwireU64(b []byte) Value   { return Value{Num: native.Uint64(b)} }
func unwireBytes(b []byte) Value { return Value{Bytes: append([]byte{}, b...)} }
func unwireLinger(b []byte) Value {
	return Value{Num: uint64(native.Uint32(b)), Num2: uint64(native.Uint32(b[4:]))}
}

func checkFlag(o *Option, v Value) error {
	if v.Num > 1 {
		return AttrErrorf(o.Attr, "value %d is not 0 or 1", v.Num)
	}
	return nil
}

func checkRange(o *Option, v Value) error {
	if v.Num < o.Min || v.Num > o.Max {
		return AttrErrorf(o.Attr, "value %d out of range %d-%d", v.Num, o.Min, o.Max)
	}
	return nil
}

func checkMicros(o *Option, v Value) error {
	if v.Num2 == 0 {
		return checkRange(o, v)
	}
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

func checkBufSize(o *Option, v Value) error {
	if v.Num < o.Min || v.Num > o.Max || v.Num%2 != 0 {
		return AttrErrorf(o.Attr, "value %d is not an even size in %d-%d", v.Num, o.Min, o.Max)
	}
	return nil
}

func checkLinger(o *Option, v Value) error {
	if v.Num > 1 {
		return AttrErrorf(o.Attr, "l_onoff %d is not 0 or 1", v.Num)
	}
	if v.Num2 > o.Max {
		return AttrErrorf(o.Attr, "l_linger %d out of range 0-%d", v.Num2, o.Max)
	}
	return nil
}

func checkIfName(o *Option, v Value) error {
	if len(v.Bytes) > 15 {
		return AttrErrorf(o.Attr, "interface name of %d bytes, at most 15", len(v.Bytes))
	}
	if !validIfName(v.Bytes) {
		return AttrErrorf(o.Attr, "interface name %q: only printable ASCII without slash, colon or space", v.Bytes)
	}
	return nil
}

func checkInAddr(o *Option, v Value) error {
	if len(v.Bytes) != 4 {
		return AttrErrorf(o.Attr, "address of %d bytes, want 4", len(v.Bytes))
	}
	return nil
}

func checkRawOptions(o *Option, v Value) error {
	if len(v.Bytes) > MaxIPOptions {
		return AttrErrorf(o.Attr, "%d bytes of IP options; at most %d", len(v.Bytes), MaxIPOptions)
	}
	if len(v.Bytes)%4 != 0 {
		return AttrErrorf(o.Attr, "IP options of length %d, not a multiple of 4 (pad with 00)", len(v.Bytes))
	}
	return nil
}

func formatUint(v Value) string   { return strconv.FormatUint(v.Num, 10) }
func formatLinger(v Value) string { return formatUint(v) + " " + strconv.FormatUint(v.Num2, 10) }
func formatBytes(v Value) string  { return string(v.Bytes) }
func formatHex(v Value) string    { return hex.EncodeToString(v.Bytes) }

func formatInAddr(v Value) string {
	if len(v.Bytes) != 4 {
		return ""
	}
	return netip.AddrFrom4([4]byte(v.Bytes)).String()
}

func formatMicros(v Value) string {
	if v.Num2 != 0 {
		return fmt.Sprintf("%d%06d", v.Num2, v.Num)
	}
	return formatUint(v)
}

func parseNum(s string) (Value, string) {
	n, err := parseUint(s)
	if err != nil {
		return Value{}, "is not a non-negative integer"
	}
	return Value{Num: n}, ""
}

func parseLinger(s string) (Value, string) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return Value{}, "is not \"ONOFF SECONDS\""
	}
	a, err1 := parseUint(f[0])
	b, err2 := parseUint(f[1])
	if err1 != nil || err2 != nil {
		return Value{}, "is not two integers"
	}
	return Value{Num: a, Num2: b}, ""
}

func parseBytes(s string) (Value, string) { return Value{Bytes: []byte(s)}, "" }

func parseInAddr(s string) (Value, string) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return Value{}, "is not a dotted-quad IPv4 address"
	}
	b := a.As4()
	return Value{Bytes: b[:]}, ""
}

func parseHex(s string) (Value, string) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return Value{}, "is not hex"
	}
	return Value{Bytes: b}, ""
}

func parseMicrosText(s string) (Value, string) {
	sec, usec, err := parseMicros(s)
	if err != nil {
		return Value{}, "is not a non-negative integer of microseconds up to " + strconv.FormatUint(MaxTimeoutSec, 10) + "999999"
	}
	return MicrosValue(sec, usec), ""
}

func textFlag(*Option) string    { return "0 or 1" }
func textRange(o *Option) string { return fmt.Sprintf("integer %d-%d", o.Min, o.Max) }
func textEven(o *Option) string  { return fmt.Sprintf("even integer %d-%d", o.Min, o.Max) }
func textMicros(o *Option) string {
	return fmt.Sprintf("microseconds %d-%d999999", o.Min, uint64(MaxTimeoutSec))
}
func textLinger(o *Option) string { return fmt.Sprintf("ONOFF SECONDS: 0 or 1, then 0-%d", o.Max) }
func textIfName(*Option) string   { return "interface name, empty for none" }
func textInAddr(*Option) string   { return "dotted quad" }
func textHex(*Option) string      { return "lowercase hex, empty for none" }

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

// The codecs of the option coverage's kinds (issue 14).

// filterEBPF is the Filter payload that stands for an eBPF filter, whose
// program SO_GET_FILTER does not give back.
const filterEBPF = "ebpf"

func wireFilter(b []byte, o *Option, v Value) []byte {
	if v.Num == 1 {
		return AppendAttr(b, o.Attr, []byte(filterEBPF))
	}
	return AppendAttr(b, o.Attr, v.Bytes)
}

func unwireFilter(b []byte) Value {
	if string(b) == filterEBPF {
		return Value{Num: 1}
	}
	return unwireBytes(b)
}

func checkFilter(o *Option, v Value) error {
	switch {
	case v.Num > 1 || v.Num2 != 0 || v.Num == 1 && len(v.Bytes) > 0:
		return AttrErrorf(o.Attr, "is either instructions or ebpf")
	case len(v.Bytes)%8 != 0:
		return AttrErrorf(o.Attr, "%d bytes is not whole struct sock_filter instructions of 8 bytes", len(v.Bytes))
	case len(v.Bytes) > MaxFilterLen*8:
		return AttrErrorf(o.Attr, "%d instructions, more than the kernel takes (%d)", len(v.Bytes)/8, MaxFilterLen)
	}
	return nil
}

func formatFilter(v Value) string {
	if v.Num == 1 {
		return filterEBPF
	}
	return formatHex(v)
}

func parseFilter(s string) (Value, string) {
	if s == filterEBPF {
		return Value{Num: 1}, ""
	}
	return parseHex(s)
}

func textFilter(*Option) string {
	return "lowercase hex of 8-byte instructions, empty for none; ebpf for an eBPF filter"
}

// An S32 value holds the int's two's complement in Num's low 32 bits.

func checkS32(o *Option, v Value) error {
	n := int64(int32(v.Num))
	if v.Num > 1<<32-1 || n < o.SMin || n > int64(o.Max) {
		return AttrErrorf(o.Attr, "value %s out of range %d-%d", formatS32(v), o.SMin, o.Max)
	}
	return nil
}

func formatS32(v Value) string {
	if v.Num > 1<<32-1 {
		return formatUint(v)
	}
	return strconv.FormatInt(int64(int32(v.Num)), 10)
}

func parseS32(s string) (Value, string) {
	neg := strings.HasPrefix(s, "-")
	n, err := parseUint(strings.TrimPrefix(s, "-"))
	if err != nil || neg && n > 1<<31 || !neg && n > 1<<31-1 {
		return Value{}, "is not an integer from -2147483648 to 2147483647"
	}
	if neg {
		return Value{Num: uint64(uint32(-int64(n)))}, ""
	}
	return Value{Num: n}, ""
}

func textS32(o *Option) string { return fmt.Sprintf("integer %d-%d", o.SMin, o.Max) }

func checkName(o *Option, v Value) error {
	if len(v.Bytes) == 0 || len(v.Bytes) > 15 {
		return AttrErrorf(o.Attr, "name of %d bytes, want 1-15", len(v.Bytes))
	}
	if !validIfName(v.Bytes) {
		return AttrErrorf(o.Attr, "name %q: only printable ASCII without slash, colon or space", v.Bytes)
	}
	return nil
}

func textName(*Option) string { return "name" }

func textTstamp(*Option) string { return "0 none, 1 SO_TIMESTAMP, 2 SO_TIMESTAMPNS" }

// Timestamping values: Num the SOF_TIMESTAMPING_* flags, Num2 bind_phc.
const (
	sofTimestampingBindPHC = 1 << 15
	// sofTimestampingMask is every flag this kernel knows (6.18: up to
	// SOF_TIMESTAMPING_OPT_TX_SWHW); it refuses others.
	sofTimestampingMask = 1<<19 - 1
)

func checkTimestamping(o *Option, v Value) error {
	if v.Num&^sofTimestampingMask != 0 {
		return AttrErrorf(o.Attr, "flags %#x: unknown SOF_TIMESTAMPING flags %#x", v.Num, v.Num&^sofTimestampingMask)
	}
	if v.Num2 > 1<<31-1 {
		return AttrErrorf(o.Attr, "PHC index %d out of range 0-%d", v.Num2, 1<<31-1)
	}
	if v.Num2 != 0 && v.Num&sofTimestampingBindPHC == 0 {
		return AttrErrorf(o.Attr, "PHC index %d without SOF_TIMESTAMPING_BIND_PHC", v.Num2)
	}
	return nil
}

func formatTimestamping(v Value) string {
	if v.Num&sofTimestampingBindPHC == 0 && v.Num2 == 0 {
		return formatUint(v)
	}
	return formatLinger(v)
}

func parseTimestamping(s string) (Value, string) {
	if !strings.ContainsAny(s, " \t") {
		return parseNum(s)
	}
	v, why := parseLinger(s)
	if why != "" {
		return Value{}, "is not \"FLAGS\" or \"FLAGS PHC\""
	}
	return v, ""
}

func textTimestamping(*Option) string {
	return fmt.Sprintf("FLAGS (0-%d), then PHC with BIND_PHC", sofTimestampingMask)
}

// TxTime values: Num the clockid, Num2 the SOF_TXTIME_* flags.
func checkTxTime(o *Option, v Value) error {
	switch v.Num {
	case 0, 1, 11: // CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_TAI
	default:
		return AttrErrorf(o.Attr, "clock %d: SO_TXTIME takes CLOCK_REALTIME (0), CLOCK_MONOTONIC (1) or CLOCK_TAI (11)", v.Num)
	}
	if v.Num2 > 3 {
		return AttrErrorf(o.Attr, "flags %d: SOF_TXTIME_DEADLINE_MODE (1) and SOF_TXTIME_REPORT_ERRORS (2) are all there are", v.Num2)
	}
	return nil
}

func parseTxTime(s string) (Value, string) {
	v, why := parseLinger(s)
	if why != "" {
		return Value{}, "is not \"CLOCKID FLAGS\""
	}
	return v, ""
}

func textTxTime(*Option) string { return "CLOCKID FLAGS: 0, 1 or 11, then 0-3" }
