package nodes

import (
	"errors"
	"syscall"
)

// errno maps a backend error to what a file operation returns: ENOENT for
// a socket that is gone, EINVAL for a refused value or image, EPERM and
// EACCES for a caller without the right, ENODEV for an unknown interface,
// any other errno the kernel gave as it is (ENETUNREACH for a connect with
// no route, ...), and EIO for an error that carries none.
func errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	for _, e := range []syscall.Errno{syscall.ENOENT, syscall.EINVAL, syscall.EPERM, syscall.EACCES, syscall.ENODEV} {
		if errors.Is(err, e) {
			return e
		}
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		switch e {
		case syscall.ESRCH, syscall.EBADF:
			// The holder exited or closed the descriptor under us.
			return syscall.ENOENT
		case 0:
			return syscall.EIO
		}
		return e
	}
	return syscall.EIO
}
