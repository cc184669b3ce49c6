package netlinkio

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

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

// get reads the row's value from a socket.
func (o *Option) get(fd int) (Value, error) {
	switch o.Kind {
	case Micros:
		tv, err := unix.GetsockoptTimeval(fd, o.Level, o.Opt)
		if err != nil {
			return Value{}, err
		}
		return Value{Num: uint64(tv.Sec)*1e6 + uint64(tv.Usec)}, nil
	case Linger:
		l, err := unix.GetsockoptLinger(fd, o.Level, o.Opt)
		if err != nil {
			return Value{}, err
		}
		return Value{Num: uint64(l.Onoff), Num2: uint64(l.Linger)}, nil
	case IfName:
		s, err := unix.GetsockoptString(fd, o.Level, o.Opt)
		if err != nil {
			return Value{}, err
		}
		return Value{Bytes: []byte(s)}, nil
	case InAddr:
		b, err := getRaw(fd, o.Level, o.Opt, 4)
		if err != nil {
			return Value{}, err
		}
		if len(b) != 4 {
			return Value{}, fmt.Errorf("%s: kernel returned %d bytes", o.AttrName(), len(b))
		}
		return Value{Bytes: b}, nil
	case RawOptions:
		b, err := getRaw(fd, o.Level, o.Opt, maxIPOptions)
		if err != nil {
			return Value{}, err
		}
		return Value{Bytes: b}, nil
	}
	n, err := unix.GetsockoptInt(fd, o.Level, o.Opt)
	if err != nil {
		return Value{}, err
	}
	switch o.Kind {
	case BufLock:
		if n&o.Mask != 0 {
			return Value{Num: 1}, nil
		}
		return Value{}, nil
	case Flag:
		if n != 0 {
			return Value{Num: 1}, nil
		}
		return Value{}, nil
	case IfIndexBE:
		return Value{Num: uint64(swap32(uint32(n)))}, nil
	}
	return Value{Num: uint64(uint32(n))}, nil
}

// set writes the row's value to a socket, then reads it back: a value the
// kernel stores differently from what was asked (clamped, rounded) is an
// error, so a restore either reproduces the image or fails.
func (o *Option) set(fd int, v Value) error {
	kept := make([]int, len(o.Keeps))
	for i, k := range o.Keeps {
		n, err := unix.GetsockoptInt(fd, k.Level, k.Opt)
		if err != nil {
			return err
		}
		kept[i] = n
	}
	if err := o.setOnly(fd, v); err != nil {
		return err
	}
	for i, k := range o.Keeps {
		if err := unix.SetsockoptInt(fd, k.Level, k.Opt, kept[i]); err != nil {
			return err
		}
	}
	got, err := o.get(fd)
	if err != nil {
		return err
	}
	if !got.Equal(v) {
		return fmt.Errorf("kernel keeps %s, not %s: %w", o.Format(got), o.Format(v), syscall.EINVAL)
	}
	return nil
}

func (o *Option) setOnly(fd int, v Value) error {
	switch o.Kind {
	case Micros:
		tv := unix.Timeval{Sec: int64(v.Num / 1e6), Usec: int64(v.Num % 1e6)}
		return unix.SetsockoptTimeval(fd, o.Level, o.Opt, &tv)
	case Linger:
		// l_linger is kept only while l_onoff is 1, so an image that has
		// linger off with a time set takes two calls.
		l := unix.Linger{Onoff: 1, Linger: int32(v.Num2)}
		if err := unix.SetsockoptLinger(fd, o.Level, o.Opt, &l); err != nil {
			return err
		}
		if v.Num == 0 {
			l.Onoff = 0
			return unix.SetsockoptLinger(fd, o.Level, o.Opt, &l)
		}
		return nil
	case IfName, InAddr, RawOptions:
		return setRaw(fd, o.Level, o.Opt, v.Bytes)
	case BufLock:
		cur, err := unix.GetsockoptInt(fd, o.Level, o.Opt)
		if err != nil {
			return err
		}
		cur &^= o.Mask
		if v.Num != 0 {
			cur |= o.Mask
		}
		return unix.SetsockoptInt(fd, o.Level, o.Opt, cur)
	case BufSize:
		return o.setBuf(fd, v)
	case IfIndexBE:
		return unix.SetsockoptInt(fd, o.Level, o.Opt, int(int32(swap32(uint32(v.Num)))))
	}
	return unix.SetsockoptInt(fd, o.Level, o.Opt, int(v.Num))
}

// setBuf sets SO_SNDBUF or SO_RCVBUF. The kernel doubles what it is
// given. A size above the sysctl limit takes the FORCE variant, which needs
// CAP_NET_ADMIN.
func (o *Option) setBuf(fd int, v Value) error {
	if err := unix.SetsockoptInt(fd, o.Level, o.Opt, int(v.Num/2)); err != nil {
		return err
	}
	if got, err := unix.GetsockoptInt(fd, o.Level, o.Opt); err == nil && uint64(got) < v.Num && o.Force != 0 {
		return unix.SetsockoptInt(fd, o.Level, o.Force, int(v.Num/2))
	}
	return nil
}

// swap32 converts between host and network order (it is its own inverse).
func swap32(x uint32) uint32 {
	return binary.BigEndian.Uint32(native.AppendUint32(nil, x))
}
