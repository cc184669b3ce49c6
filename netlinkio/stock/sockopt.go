package stock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// getRaw is getsockopt into a byte buffer; unlike unix.GetsockoptString it
// keeps NUL bytes, which IP options are full of.
func getRaw(fd, level, opt, size int) ([]byte, error) {
	buf := make([]byte, size)
	n := uint32(size)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return nil, e
	}
	return buf[:n], nil
}

// setRaw is setsockopt from a byte buffer (nil for a zero-length value).
func setRaw(fd, level, opt int, b []byte) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(p), uintptr(len(b)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// kindOps is how a value of one kind is read from a socket and written to
// it.
type kindOps struct {
	get func(fd int, o *image.Option) (image.Value, error)
	set func(fd int, o *image.Option, v image.Value) error
}

// kinds holds the socket calls of every image.Kind, indexed by Kind.
var kinds = [...]kindOps{
	image.Flag:       {getFlag, setInt},
	image.U8:         {getUint, setInt},
	image.U32:        {getUint, setInt},
	image.BufSize:    {getUint, setBuf},
	image.BufLock:    {getBufLock, setBufLock},
	image.Micros:     {getMicros, setMicros},
	image.Linger:     {getLinger, setLinger},
	image.IfName:     {getIfName, setBytes},
	image.InAddr:     {getInAddr, setBytes},
	image.IfIndexBE:  {getIfIndexBE, setIfIndexBE},
	image.RawOptions: {getRawOptions, setBytes},
	// getsockopt cannot read these (image.Option.ExactOnly); they are set
	// with their With row (pair.go).
	image.McastIfIndex:   {getUnreadable, nil},
	image.FollowsDefault: {getUnreadable, nil},

	image.U64:          {getU64, setU64},
	image.S32:          {getUint, setInt},
	image.Name:         {getName, setBytes},
	image.Filter:       {getSockFilter, setSockFilter},
	image.Tstamp:       {getTstamp, setTstamp},
	image.TstampNew:    {getTstampNew, setTstampNew},
	image.Timestamping: {getTimestamping, setTimestamping},
	image.TxTime:       {getTxTime, setTxTime},
	image.MSS:          {getUint, setInt},
	image.AddrPrefs:    {getUint, setInt},
}

// get reads the row's value from a socket.
func get(fd int, o *image.Option) (image.Value, error) { return kinds[o.Kind].get(fd, o) }

// setStep is the step that changes a row from old to nv. Its do sets the
// value as the caller; its check then puts back, as the server, the
// options the row Keeps (IP_TOS also sets SO_PRIORITY, which may be above
// what the caller could set itself; TCP's SO_RCVLOWAT raises SO_RCVBUF) and
// reads the value back: a value the kernel stores differently from what
// was asked (clamped, rounded) is an error, so a restore either reproduces
// the image or fails, and the step is undone.
func setStep(fd int, o *image.Option, old, nv image.Value) step {
	var kept []int
	return step{
		name: "set " + o.AttrName() + " to " + o.Format(nv),
		do: func() error {
			if cur, err := get(fd, o); err == nil && cur.Equal(nv) {
				return nil // an earlier step made it so (IP_OPTIONS lowers TCP_MAXSEG)
			}
			var err error
			if kept, err = readKept(fd, o.Keeps); err != nil {
				return err
			}
			return kinds[o.Kind].set(fd, o, nv)
		},
		check: func() error {
			if kept == nil {
				return nil // do found it made
			}
			return settle(fd, o, nv, kept)
		},
		// The undo puts back what do found, the kept options included:
		// a do that failed halfway may have changed them. A do that failed
		// before it read them changed nothing.
		undo: func() error {
			if kept == nil {
				return nil
			}
			err := kinds[o.Kind].set(fd, o, old)
			if serr := settle(fd, o, old, kept); err == nil {
				err = serr
			}
			return err
		},
	}
}

// settle puts back the options o Keeps, then checks that the socket holds
// v.
func settle(fd int, o *image.Option, v image.Value, kept []int) error {
	if err := restoreKept(fd, o, kept); err != nil {
		return err
	}
	got, err := get(fd, o)
	if err != nil {
		return err
	}
	if !got.Equal(v) {
		return &ReadBackError{Attr: o.AttrName(), Asked: o.Format(v), Kept: o.Format(got)}
	}
	return nil
}

// ReadBackError is a set that the kernel applied but stores differently
// from what was asked (clamped, rounded). It unwraps to EINVAL.
type ReadBackError struct {
	Attr, Asked, Kept string
}

func (e *ReadBackError) Error() string {
	return "kernel keeps " + e.Kept + ", not " + e.Asked
}

func (e *ReadBackError) Unwrap() error { return syscall.EINVAL }

// readKept reads the options a set must put back.
func readKept(fd int, keeps []image.Sockopt) ([]int, error) {
	kept := make([]int, len(keeps))
	for i, k := range keeps {
		n, err := unix.GetsockoptInt(fd, k.Level, k.Opt)
		if err != nil {
			return nil, err
		}
		kept[i] = n
	}
	return kept, nil
}

// restoreKept puts back, in order, each option of o's Keeps that a set
// changed. A buffer size is put back through its row (halved, FORCE past
// the sysctl limit), which sets its user lock; the lock comes after it in
// Keeps and is put back in turn.
func restoreKept(fd int, o *image.Option, kept []int) error {
	var err error
	for i, k := range o.Keeps {
		n, gerr := unix.GetsockoptInt(fd, k.Level, k.Opt)
		if gerr == nil && n == kept[i] {
			continue
		}
		var kerr error
		if r := bufRow(k); r != nil {
			kerr = setBuf(fd, r, image.Value{Num: uint64(uint32(kept[i]))})
		} else {
			kerr = unix.SetsockoptInt(fd, k.Level, k.Opt, kept[i])
		}
		if err == nil {
			err = kerr
		}
	}
	return err
}

// bufRow is the BufSize row of a kept option, or nil.
func bufRow(k image.Sockopt) *image.Option {
	for _, o := range image.Options {
		if o.Kind == image.BufSize && o.Level == k.Level && o.Opt == k.Opt {
			return &o
		}
	}
	return nil
}

// bit is a flag's value: 1 when on is set.
func bit(on bool) image.Value {
	if on {
		return image.Value{Num: 1}
	}
	return image.Value{}
}

// intGetter reads an int option and makes the row's value of it with conv.
func intGetter(conv func(n int, o *image.Option) image.Value) func(int, *image.Option) (image.Value, error) {
	return func(fd int, o *image.Option) (image.Value, error) {
		n, err := unix.GetsockoptInt(fd, o.Level, o.Opt)
		if err != nil {
			return image.Value{}, err
		}
		return conv(n, o), nil
	}
}

var (
	getFlag      = intGetter(func(n int, _ *image.Option) image.Value { return bit(n != 0) })
	getBufLock   = intGetter(func(n int, o *image.Option) image.Value { return bit(n&o.Mask != 0) })
	getUint      = intGetter(func(n int, _ *image.Option) image.Value { return image.Value{Num: uint64(uint32(n))} })
	getIfIndexBE = intGetter(func(n int, _ *image.Option) image.Value { return image.Value{Num: uint64(swap32(uint32(n)))} })
)

func getMicros(fd int, o *image.Option) (image.Value, error) {
	tv, err := unix.GetsockoptTimeval(fd, o.Level, o.Opt)
	if err != nil {
		return image.Value{}, err
	}
	if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1e6 {
		return image.Value{}, fmt.Errorf("%s: kernel returned %d s %d µs", o.AttrName(), tv.Sec, tv.Usec)
	}
	return image.MicrosValue(uint64(tv.Sec), uint64(tv.Usec)), nil
}

func getLinger(fd int, o *image.Option) (image.Value, error) {
	l, err := unix.GetsockoptLinger(fd, o.Level, o.Opt)
	if err != nil {
		return image.Value{}, err
	}
	// l_linger is an int, but the kernel keeps (unsigned int)l_linger * HZ
	// and reports it back as set: the image holds it unsigned.
	return image.Value{Num: uint64(l.Onoff), Num2: uint64(uint32(l.Linger))}, nil
}

// getIfName: a socket bound to an index no device has (SO_BINDTOIFINDEX
// takes any, and devices go away) has no name; the index is the
// bindtoifindex row's.
func getIfName(fd int, o *image.Option) (image.Value, error) {
	s, err := unix.GetsockoptString(fd, o.Level, o.Opt)
	if errors.Is(err, unix.ENODEV) {
		return image.Value{Bytes: []byte{}}, nil
	}
	if err != nil {
		return image.Value{}, err
	}
	return image.Value{Bytes: []byte(s)}, nil
}

func getInAddr(fd int, o *image.Option) (image.Value, error) {
	b, err := getRaw(fd, o.Level, o.Opt, 4)
	if err != nil {
		return image.Value{}, err
	}
	if len(b) != 4 {
		return image.Value{}, fmt.Errorf("%s: kernel returned %d bytes", o.AttrName(), len(b))
	}
	return image.Value{Bytes: b}, nil
}

func getRawOptions(fd int, o *image.Option) (image.Value, error) {
	b, err := getRaw(fd, o.Level, o.Opt, image.MaxIPOptions)
	if err != nil {
		return image.Value{}, err
	}
	return image.Value{Bytes: b}, nil
}

func setInt(fd int, o *image.Option, v image.Value) error {
	return unix.SetsockoptInt(fd, o.Level, o.Opt, int(v.Num))
}

func setIfIndexBE(fd int, o *image.Option, v image.Value) error {
	return unix.SetsockoptInt(fd, o.Level, o.Opt, int(int32(swap32(uint32(v.Num)))))
}

func setBytes(fd int, o *image.Option, v image.Value) error {
	return setRaw(fd, o.Level, o.Opt, v.Bytes)
}

func setMicros(fd int, o *image.Option, v image.Value) error {
	sec, usec := v.Timeval()
	tv := unix.Timeval{Sec: int64(sec), Usec: int64(usec)}
	if err := unix.SetsockoptTimeval(fd, o.Level, o.Opt, &tv); err != nil || sec == 0 || usec != 0 {
		return err
	}
	// The longest timeout the kernel keeps, (LONG_MAX/HZ - 1) * HZ
	// jiffies, reads back as LONG_MAX/HZ - 1 seconds, but a tv_sec that
	// large means no timeout at all (MAX_SCHEDULE_TIMEOUT, read back as
	// 0); one microsecond less rounds up to it.
	if got, err := unix.GetsockoptTimeval(fd, o.Level, o.Opt); err == nil && got.Sec == 0 && got.Usec == 0 {
		tv = unix.Timeval{Sec: int64(sec - 1), Usec: 999999}
		return unix.SetsockoptTimeval(fd, o.Level, o.Opt, &tv)
	}
	return nil
}

// setLinger: l_linger is kept only while l_onoff is 1, so an image that
// has linger off with a time set takes two calls.
func setLinger(fd int, o *image.Option, v image.Value) error {
	l := unix.Linger{Onoff: 1, Linger: int32(uint32(v.Num2))}
	if err := unix.SetsockoptLinger(fd, o.Level, o.Opt, &l); err != nil {
		return err
	}
	if v.Num == 0 {
		l.Onoff = 0
		return unix.SetsockoptLinger(fd, o.Level, o.Opt, &l)
	}
	return nil
}

// setBufLock sets or clears the row's bit of SO_BUF_LOCK, keeping the
// other.
func setBufLock(fd int, o *image.Option, v image.Value) error {
	cur, err := unix.GetsockoptInt(fd, o.Level, o.Opt)
	if err != nil {
		return err
	}
	cur &^= o.Mask
	if v.Num != 0 {
		cur |= o.Mask
	}
	return unix.SetsockoptInt(fd, o.Level, o.Opt, cur)
}

// setBuf sets SO_SNDBUF or SO_RCVBUF. The kernel doubles what it is
// given. It tries the FORCE variant first, which needs CAP_NET_ADMIN and
// ignores the sysctl limit; the plain one then, for a caller without it.
func setBuf(fd int, o *image.Option, v image.Value) error {
	n := int(v.Num / 2)
	err := unix.SetsockoptInt(fd, o.Level, o.Force, n)
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	// Without CAP_NET_ADMIN: the plain option, which the kernel clamps at
	// net.core.wmem_max or rmem_max. A clamped value is what the FORCE
	// option was refused for, and the step that made it is undone.
	if perr := unix.SetsockoptInt(fd, o.Level, o.Opt, n); perr != nil {
		return perr
	}
	if got, gerr := unix.GetsockoptInt(fd, o.Level, o.Opt); gerr == nil && uint64(got) < v.Num {
		return fmt.Errorf("the kernel clamps %s to %d without the FORCE option, which it refused: %w", o.AttrName(), got, err)
	}
	return nil
}

// native is the host byte order.
var native = binary.NativeEndian

// swap32 converts between host and network order (it is its own inverse).
func swap32(x uint32) uint32 {
	return binary.BigEndian.Uint32(native.AppendUint32(nil, x))
}
