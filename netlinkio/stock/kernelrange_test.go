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
	case image.U8, image.U32:
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
					v := c.val
					if b, ok := v.([]byte); ok {
						v = fmt.Sprintf("%x", b)
					}
					if err := src.Do("setsockopt", map[string]any{"level": c.level, "opt": c.opt, "value": v}); err != nil {
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
				netnstest.SameImage(t, what, img, netnstest.Dump(t, st, dst.Inode))
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
