package stock_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// call is one setsockopt inside the holder: an int or raw bytes.
type call struct {
	level, opt int
	val        any // int or []byte
}

func (c call) String() string {
	if b, ok := c.val.([]byte); ok {
		return fmt.Sprintf("%d/%d=%x", c.level, c.opt, b)
	}
	return fmt.Sprintf("%d/%d=%d", c.level, c.opt, c.val)
}

// kernelStates lists, for one row, ways a program puts a socket's option
// at and around the kernel's limits: each a sequence of setsockopt calls.
// Some the kernel refuses; those are skipped.
func kernelStates(o *image.Option, ifindex int) [][]call {
	ne := binary.NativeEndian
	one := func(v any) [][]call { return [][]call{{{o.Level, o.Opt, v}}} }
	var out [][]call
	ints := func(vs ...int) {
		for _, v := range vs {
			out = append(out, one(v)...)
		}
	}
	switch o.Kind {
	case image.Flag:
		ints(0, 1, 2, -1)
	case image.U8, image.U32, image.MSS:
		ints(0, 1, 2, 3, 6, 7, 63, 64, 254, 255, 256, 65535, 1<<24, math.MaxInt32-1, math.MaxInt32, -1, -2, math.MinInt32)
	case image.IfIndexBE:
		for _, v := range []uint32{0, 1, uint32(ifindex), 9999} {
			out = append(out, one(int(int32(binary.BigEndian.Uint32(ne.AppendUint32(nil, v)))))...)
		}
	case image.BufSize:
		for _, opt := range []int{o.Opt, o.Force} {
			for _, v := range []int{0, 1, 2, 1000, 1152, 1153, 65536, 1 << 20, 1 << 30, math.MaxInt32, -1} {
				out = append(out, []call{{o.Level, opt, v}})
			}
		}
	case image.BufLock:
		ints(0, 1, 2, 3, 4)
	case image.Micros:
		for _, tv := range [][2]int64{
			{0, 0}, {0, 1}, {0, 3999}, {0, 4000}, {0, 999999}, {1, 0}, {2, 500000},
			{9223372036853, 999999}, {9223372036854, 775807}, {9223372036854, 775808}, {9223372036854, 999999},
			{9223372036855, 0}, {18446744073709, 551616}, {4611686018427388, 0},
			{36893488147419100, 999999}, {36893488147419101, 0}, {36893488147419101, 4000}, {36893488147419101, 999999},
			{36893488147419102, 0}, {math.MaxInt64 / 1000, 0}, {math.MaxInt64, 999999}, {-1, 0},
		} {
			out = append(out, one(ne.AppendUint64(ne.AppendUint64(nil, uint64(tv[0])), uint64(tv[1])))...)
		}
	case image.Linger:
		lg := func(on, sec int32) []byte { return ne.AppendUint32(ne.AppendUint32(nil, uint32(on)), uint32(sec)) }
		for _, sec := range []int32{0, 1, 7, math.MaxInt32, -1, math.MinInt32} {
			out = append(out, one(lg(1, sec))...)
			out = append(out, []call{{o.Level, o.Opt, lg(1, sec)}, {o.Level, o.Opt, lg(0, 0)}})
		}
	case image.IfName:
		for _, n := range []string{"", "lo", "krr"} {
			out = append(out, one([]byte(n))...)
		}
	case image.InAddr:
		for _, a := range [][]byte{{0, 0, 0, 0}, {127, 0, 0, 1}, {10, 71, 0, 1}, {10, 9, 9, 9}} {
			out = append(out, one(a)...)
		}
	case image.RawOptions:
		for _, b := range [][]byte{{}, {0x94, 4, 0, 0}, {1, 1, 1, 1}, bytes.Repeat([]byte{1}, 40), {1}, {7, 7, 4, 0, 0, 0, 0}} {
			out = append(out, one(b)...)
		}
	default:
		out = coverageStates(o)
	}
	return out
}

// attachFilter is the level of a call that attaches a classic BPF filter
// through the holder's attach_filter (val: the instructions).
const attachFilter = -1

// coverageStates are kernelStates for the option coverage's kinds.
func coverageStates(o *image.Option) [][]call {
	ne := binary.NativeEndian
	one := func(v any) [][]call { return [][]call{{{o.Level, o.Opt, v}}} }
	sol := func(opt int, v any) call { return call{unix.SOL_SOCKET, opt, v} }
	var out [][]call
	switch o.Kind {
	case image.U64:
		for _, v := range []uint64{1 << 40, 1000, 0, 1<<64 - 1} {
			out = append(out, one(ne.AppendUint64(nil, v))...)
		}
	case image.S32:
		for _, v := range []int{-1, 0, 1, 5, 120, 200, -5, math.MaxInt32, math.MinInt32} {
			out = append(out, one(v)...)
		}
	case image.Name:
		for _, n := range []string{"reno", "cubic", "bbr", "nonesuch"} {
			out = append(out, one([]byte(n))...)
		}
	case image.Filter:
		ret := []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}                   // ret #-1
		lenRet := []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0x16, 0, 0, 0, 0, 0, 0, 0} // ld len; ret a
		out = append(out, []call{{attachFilter, 0, ret}}, []call{{attachFilter, 0, lenRet}},
			[]call{{attachFilter, 0, lenRet}, {unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0}},
			[]call{{attachFilter, 0, ret}, {unix.SOL_SOCKET, unix.SO_LOCK_FILTER, 1}})
	case image.Tstamp, image.TstampNew:
		out = append(out, []call{sol(unix.SO_TIMESTAMP_OLD, 1)}, []call{sol(unix.SO_TIMESTAMPNS_OLD, 1)},
			[]call{sol(unix.SO_TIMESTAMP_NEW, 1)}, []call{sol(unix.SO_TIMESTAMPNS_NEW, 1)},
			[]call{sol(unix.SO_TIMESTAMPNS_NEW, 1), sol(unix.SO_TIMESTAMP_OLD, 0)},
			[]call{sol(unix.SO_TIMESTAMPING_NEW, 26)}, []call{sol(unix.SO_TIMESTAMP_NEW, 1), sol(unix.SO_TIMESTAMPING_OLD, 26)})
	case image.Timestamping:
		for _, v := range []int{26, 1 << 18, 0x4000 | 0x80 | 0x10, 1 << 19} {
			out = append(out, one(v)...)
		}
		out = append(out, []call{sol(unix.SO_TIMESTAMPING_NEW, 26)})
	case image.TxTime:
		for _, p := range [][2]uint32{{1, 0}, {1, 3}, {0, 1}, {11, 2}, {4, 0}} {
			out = append(out, one(ne.AppendUint32(ne.AppendUint32(nil, p[0]), p[1]))...)
		}
	}
	return out
}

// Every state the kernel accepts, option by option and socket type by
// socket type, dumps to an image that decodes, re-encodes to the same
// bytes, and restores exactly onto a fresh socket.
func TestEveryKernelStateRoundTrips(t *testing.T) {
	ifindex := netnstest.Veth(t, "krr", "10.71.0.1/24")
	st := stock.NewStock()
	h := netnstest.NewHolder(t)
	var tried, held int
	for _, kind := range []string{"udp", "tcp", "raw17"} {
		typ := map[string]uint16{"udp": unix.SOCK_DGRAM, "tcp": unix.SOCK_STREAM, "raw17": unix.SOCK_RAW}[kind]
		for _, o := range image.OptionsFor(unix.AF_INET, typ) {
			for _, calls := range kernelStates(o, ifindex) {
				tried++
				name := kind + " " + o.Path()
				src := h.Socket(kind)
				accepted := true
				for _, c := range calls {
					if err := doCall(src, c); err != nil {
						accepted = false
						break
					}
				}
				if !accepted {
					src.Close()
					continue
				}
				held++
				what := fmt.Sprintf("%s after %v", name, calls)
				img, err := st.Dump(src.Inode)
				if err != nil {
					t.Fatalf("%s: dump: %v", what, err)
				}
				b := img.Encode()
				dec, err := image.Decode(b)
				if err != nil {
					t.Fatalf("%s: the dump does not decode: %v", what, err)
				}
				if !bytes.Equal(dec.Encode(), b) {
					t.Fatalf("%s: the decoded image encodes differently", what)
				}
				dst := h.Socket(kind)
				if err := st.Restore(dst.Inode, dec); err != nil {
					t.Fatalf("%s (%s): restore onto a fresh socket: %v", what, o.Format(img.Values[o.Attr]), err)
				}
				got := netnstest.Dump(t, st, dst.Inode)
				for _, r := range image.OptionsFor(unix.AF_INET, typ) {
					if r.KernelsOwn(img.Values[r.Attr]) {
						img.Values[r.Attr] = got.Values[r.Attr] // a restore leaves it
					}
				}
				netnstest.SameImage(t, what, img, got)
				if got, want := holderValue(t, dst, o), o.Format(img.Values[o.Attr]); got != want && !strings.Contains(what, "9999") {
					t.Errorf("%s: getsockopt in the holder says %s after the restore, the image %s", what, got, want)
				}
				src.Close()
				dst.Close()
			}
		}
	}
	t.Logf("%d states tried, %d accepted by the kernel; each dumped, decoded and restored exactly", tried, held)
}

// doCall makes one call inside the holder.
func doCall(s *netnstest.Sock, c call) error {
	if c.level == attachFilter {
		return s.AttachFilter(c.val.([]byte))
	}
	v := c.val
	if b, ok := v.([]byte); ok {
		v = fmt.Sprintf("%x", b)
	}
	return s.Do("setsockopt", map[string]any{"level": c.level, "opt": c.opt, "value": v})
}
