package sockdiag

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// diagBufSize is the one receive buffer of a listing. The kernel fills a
// dump's datagrams up to the largest read it has seen, capped at about
// 32 KiB (netlink_recvmsg), so a larger buffer never truncates one and
// costs a single allocation per listing.
const diagBufSize = 256 << 10

// diagTimeout bounds every read of a dump, so that a kernel that stops
// answering fails the listing instead of hanging the caller (and the mount).
const diagTimeout = 5

var errDiagMalformed = errors.New("sock_diag: malformed reply")

// diagConn is one NETLINK_SOCK_DIAG socket read with plain syscalls: every
// reply is parsed in place in one reused buffer, where netlink.Conn
// allocates a message and a copy of its data for each socket listed.
type diagConn struct {
	fd   int
	port uint32 // the port id the kernel bound us to; its replies carry it
	seq  uint32
	buf  []byte
}

func dialDiag() (*diagConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	c := &diagConn{fd: fd}
	if err := c.setup(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c.buf = make([]byte, diagBufSize)
	return c, nil
}

// setup binds the socket, so that the kernel assigns the port id its
// replies will be addressed to, and sets the read timeout.
func (c *diagConn) setup() error {
	if err := unix.Bind(c.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sock_diag bind: %w", err)
	}
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		return fmt.Errorf("sock_diag getsockname: %w", err)
	}
	nl, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return fmt.Errorf("sock_diag getsockname: %T", sa)
	}
	c.port = nl.Pid
	tv := unix.Timeval{Sec: diagTimeout}
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("sock_diag SO_RCVTIMEO: %w", err)
	}
	return nil
}

func (c *diagConn) close() { unix.Close(c.fd) }

// dump asks for every socket of one family and protocol, in all states, and
// calls each with the payload (a struct inet_diag_msg and its attributes)
// of every reply, which is valid only during the call. It returns the
// errno the kernel answered with, such as ENOENT for a protocol without a
// diag module.
func (c *diagConn) dump(family, proto uint8, each func(msg []byte)) error {
	c.seq++
	var req [unix.NLMSG_HDRLEN + inetDiagReqV2Len]byte
	native.PutUint32(req[0:], uint32(len(req)))
	native.PutUint16(req[4:], sockDiagByFamily)
	native.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	native.PutUint32(req[8:], c.seq)
	native.PutUint32(req[12:], c.port)
	r := req[unix.NLMSG_HDRLEN:]
	r[0], r[1] = family, proto
	if proto == unix.IPPROTO_RAW {
		r[3] = rawAllProtocols
	}
	native.PutUint32(r[4:], allStates)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := retryEINTR(func() error { return unix.Sendto(c.fd, req[:], 0, kernel) }); err != nil {
		return fmt.Errorf("sock_diag send: %w", err)
	}
	for {
		var n int
		var from unix.Sockaddr
		err := retryEINTR(func() (err error) {
			// MSG_TRUNC makes n the datagram's whole length, so that a
			// truncated one is caught rather than parsed short.
			n, from, err = unix.Recvfrom(c.fd, c.buf, unix.MSG_TRUNC)
			return err
		})
		if err != nil {
			return fmt.Errorf("sock_diag receive: %w", err)
		}
		if n > len(c.buf) {
			return fmt.Errorf("sock_diag: a %d-byte reply overflows the %d-byte buffer", n, len(c.buf))
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			// Another process may send to our port id; only the
			// kernel's replies are part of the dump.
			continue
		}
		if done, err := parseDiagReplies(c.buf[:n], c.seq, c.port, each); done || err != nil {
			return err
		}
	}
}

// parseDiagReplies walks the netlink messages of one datagram of a dump's
// answer to request seq from port. It reports done at NLMSG_DONE or
// NLMSG_ERROR, with the (negated) errno either carries. NLM_F_DUMP_INTR is
// not checked: inet_diag never sets it (netlink.Conn ignored it too).
func parseDiagReplies(b []byte, seq, port uint32, each func(msg []byte)) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return false, errDiagMalformed
		}
		l := native.Uint32(b)
		typ := native.Uint16(b[4:])
		if l < unix.NLMSG_HDRLEN || uint64(l) > uint64(len(b)) {
			return false, errDiagMalformed
		}
		if s, p := native.Uint32(b[8:]), native.Uint32(b[12:]); s != seq || p != port {
			return false, fmt.Errorf("sock_diag: reply to request %d of port %d, want %d of %d", s, p, seq, port)
		}
		msg := b[unix.NLMSG_HDRLEN:l]
		b = b[min(len(b), int(l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
		switch typ {
		case unix.NLMSG_DONE:
			// Since Linux 4.x NLMSG_DONE carries the dump's own error
			// (an int); older kernels send it empty.
			if len(msg) >= 4 {
				return true, replyErrno(msg)
			}
			return true, nil
		case unix.NLMSG_ERROR:
			// struct nlmsgerr: an int error, 0 for an acknowledgement.
			if len(msg) < 4 {
				return true, errDiagMalformed
			}
			return true, replyErrno(msg)
		case sockDiagByFamily:
			each(msg)
		}
	}
	return false, nil
}

// replyErrno reads the int that starts an NLMSG_DONE or NLMSG_ERROR
// payload, a negative errno or 0.
func replyErrno(msg []byte) error {
	if e := int32(native.Uint32(msg)); e < 0 {
		return unix.Errno(-e)
	}
	return nil
}

// retryEINTR runs a blocking syscall again when a signal (the Go runtime
// preempts goroutines with SIGURG) interrupts it before it did anything.
func retryEINTR(call func() error) error {
	for {
		if err := call(); err != unix.EINTR {
			return err
		}
	}
}
