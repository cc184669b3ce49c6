package stock

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// The socket calls of the option coverage's kinds (issue 14).

func getU64(fd int, o *image.Option) (image.Value, error) {
	b, err := getRaw(fd, o.Level, o.Opt, 8)
	if err != nil {
		return image.Value{}, err
	}
	if len(b) != 8 {
		return image.Value{}, fmt.Errorf("%s: kernel returned %d bytes", o.AttrName(), len(b))
	}
	return image.Value{Num: native.Uint64(b)}, nil
}

func setU64(fd int, o *image.Option, v image.Value) error {
	return setRaw(fd, o.Level, o.Opt, native.AppendUint64(nil, v.Num))
}

// getName reads a name the kernel pads with NULs (TCP_CONGESTION).
func getName(fd int, o *image.Option) (image.Value, error) {
	b, err := getRaw(fd, o.Level, o.Opt, 16)
	if err != nil {
		return image.Value{}, err
	}
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return image.Value{Bytes: b}, nil
}

// pair reads a struct of two u32 (sock_txtime, so_timestamping).
func pair(fd int, o *image.Option, opt int) (image.Value, error) {
	b, err := getRaw(fd, o.Level, opt, 8)
	if err != nil {
		return image.Value{}, err
	}
	if len(b) != 8 {
		return image.Value{}, fmt.Errorf("%s: kernel returned %d bytes", o.AttrName(), len(b))
	}
	return image.Value{Num: uint64(native.Uint32(b)), Num2: uint64(native.Uint32(b[4:]))}, nil
}

func pairBytes(v image.Value) []byte {
	return native.AppendUint32(native.AppendUint32(nil, uint32(v.Num)), uint32(v.Num2))
}

func getTxTime(fd int, o *image.Option) (image.Value, error) { return pair(fd, o, o.Opt) }

// setTxTime sets struct sock_txtime. The kernel turns SOCK_TXTIME on with
// the first set and nobody can turn it off; getsockopt does not show it.
func setTxTime(fd int, o *image.Option, v image.Value) error {
	return setRaw(fd, o.Level, o.Opt, pairBytes(v))
}

// getSockFilter reads the classic BPF filter with SO_GET_FILTER, whose length
// counts instructions, not bytes: a first call with length 0 gives the
// count. The filter may change between the calls, so a too-short buffer
// (EINVAL) is tried again.
func getSockFilter(fd int, o *image.Option) (image.Value, error) {
	for range 4 {
		var n uint32
		if err := getsockoptLen(fd, o.Level, unix.SO_GET_FILTER, nil, &n); err != nil {
			return filterErr(err)
		}
		if n == 0 {
			return image.Value{Bytes: []byte{}}, nil
		}
		buf := make([]byte, 8*n)
		err := getsockoptLen(fd, o.Level, unix.SO_GET_FILTER, buf, &n)
		if errors.Is(err, unix.EINVAL) {
			continue
		}
		if err != nil {
			return filterErr(err)
		}
		return image.Value{Bytes: buf[:8*n]}, nil
	}
	return image.Value{}, fmt.Errorf("%s: the filter kept changing while it was read", o.AttrName())
}

// filterErr: an eBPF filter has no classic program to give back, and
// SO_GET_FILTER says EACCES; the image says so instead of failing.
func filterErr(err error) (image.Value, error) {
	if errors.Is(err, unix.EACCES) {
		return image.Value{Num: 1}, nil
	}
	return image.Value{}, err
}

func getsockoptLen(fd, level, opt int, buf []byte, n *uint32) error {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(p), uintptr(unsafe.Pointer(n)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// ErrEBPFFilter is a restore asked to attach an eBPF filter, which no
// image holds the program of.
var ErrEBPFFilter = fmt.Errorf("an eBPF socket filter cannot be read back, so it cannot be restored: %w", unix.EOPNOTSUPP)

// setSockFilter attaches the instructions, or detaches the filter when there
// are none.
func setSockFilter(fd int, o *image.Option, v image.Value) error {
	if v.Num == 1 {
		return ErrEBPFFilter
	}
	if len(v.Bytes) == 0 {
		err := unix.SetsockoptInt(fd, o.Level, unix.SO_DETACH_FILTER, 0)
		if errors.Is(err, unix.ENOENT) {
			return nil // none attached
		}
		return err
	}
	insns := make([]unix.SockFilter, len(v.Bytes)/8)
	for i := range insns {
		b := v.Bytes[8*i:]
		insns[i] = unix.SockFilter{Code: native.Uint16(b), Jt: b[2], Jf: b[3], K: native.Uint32(b[4:])}
	}
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	err := unix.SetsockoptSockFprog(fd, o.Level, unix.SO_ATTACH_FILTER, &prog)
	runtime.KeepAlive(insns)
	return err
}

// The timestamping options share the kernel's SOCK_TSTAMP_NEW flag: the
// _NEW form of any of them sets it, the old form clears it, and it shows
// only through the _NEW getsockopt of an option that is on.

// tstampNew reports whether the socket shows SOCK_TSTAMP_NEW.
func tstampNew(fd int) (bool, error) {
	for _, opt := range []int{unix.SO_TIMESTAMP_NEW, unix.SO_TIMESTAMPNS_NEW, unix.SO_TIMESTAMPING_NEW} {
		n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt)
		if err != nil || n != 0 {
			return n != 0, err
		}
	}
	return false, nil
}

func getTstampNew(fd int, _ *image.Option) (image.Value, error) {
	on, err := tstampNew(fd)
	return bit(on), err
}

// getTstamp: SO_TIMESTAMPNS reads 1 in its old or its _NEW form, as the
// flag is; SO_TIMESTAMP likewise, and only while nanoseconds are off.
func getTstamp(fd int, _ *image.Option) (image.Value, error) {
	for _, f := range []struct {
		v        uint64
		old, new int
	}{{2, unix.SO_TIMESTAMPNS_OLD, unix.SO_TIMESTAMPNS_NEW}, {1, unix.SO_TIMESTAMP_OLD, unix.SO_TIMESTAMP_NEW}} {
		for _, opt := range []int{f.old, f.new} {
			n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, opt)
			if err != nil {
				return image.Value{}, err
			}
			if n != 0 {
				return image.Value{Num: f.v}, nil
			}
		}
	}
	return image.Value{}, nil
}

// setTstamp sets the receive timestamps in the form the socket shows now,
// so that SOCK_TSTAMP_NEW, which the tstamp_new row carries, stays.
func setTstamp(fd int, _ *image.Option, v image.Value) error {
	isNew, err := tstampNew(fd)
	if err != nil {
		return err
	}
	return setTstampAs(fd, v, isNew)
}

func setTstampAs(fd int, v image.Value, isNew bool) error {
	opt := map[uint64][2]int{
		0: {unix.SO_TIMESTAMP_OLD, unix.SO_TIMESTAMP_OLD}, // off clears both, in either form
		1: {unix.SO_TIMESTAMP_OLD, unix.SO_TIMESTAMP_NEW},
		2: {unix.SO_TIMESTAMPNS_OLD, unix.SO_TIMESTAMPNS_NEW},
	}[v.Num]
	form := opt[0]
	if isNew {
		form = opt[1]
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, form, int(min(v.Num, 1)))
}

// getTimestamping reads struct so_timestamping: the old form gives it
// whatever SOCK_TSTAMP_NEW is.
func getTimestamping(fd int, o *image.Option) (image.Value, error) {
	return pair(fd, o, unix.SO_TIMESTAMPING_OLD)
}

// setTimestamping sets struct so_timestamping in the form the socket
// shows now (see setTstamp). An unchanged SOF_TIMESTAMPING_OPT_ID keeps
// the socket's counter.
func setTimestamping(fd int, o *image.Option, v image.Value) error {
	isNew, err := tstampNew(fd)
	if err != nil {
		return err
	}
	return setTimestampingAs(fd, v, isNew)
}

func setTimestampingAs(fd int, v image.Value, isNew bool) error {
	opt := unix.SO_TIMESTAMPING_OLD
	if isNew {
		opt = unix.SO_TIMESTAMPING_NEW
	}
	return setRaw(fd, unix.SOL_SOCKET, opt, pairBytes(v))
}

// setTstampNew sets again, in the form asked for, whichever timestamping
// options are on; with none on there is no flag to show.
func setTstampNew(fd int, o *image.Option, v image.Value) error {
	ts, err := getTstamp(fd, o)
	if err != nil {
		return err
	}
	tsing, err := getTimestamping(fd, o)
	if err != nil {
		return err
	}
	if ts.Num == 0 && tsing.Num == 0 {
		if v.Num != 0 {
			return fmt.Errorf("%s: no timestamping option is on to carry it: %w", o.AttrName(), unix.EINVAL)
		}
		return nil
	}
	if ts.Num != 0 {
		if err := setTstampAs(fd, ts, v.Num != 0); err != nil {
			return err
		}
	}
	if tsing.Num != 0 {
		return setTimestampingAs(fd, tsing, v.Num != 0)
	}
	return nil
}
