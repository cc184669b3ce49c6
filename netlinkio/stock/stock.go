// Package stock is the stock-kernel engine: it dumps and restores a
// socket with getsockopt and setsockopt on a duplicate of it, lists
// sockets through sock_diag and finds their holders in /proc.
package stock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/deadline"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"github.com/inetcr/inetcr/netlinkio/internal/sockdiag"
	"golang.org/x/sys/unix"
)

// Stock is the stock-kernel engine: it lists sockets through sock_diag,
// finds their holders in /proc, duplicates a socket with pidfd_getfd and
// reads and sets its options with getsockopt and setsockopt on the
// duplicate. It needs ptrace access to the holder (root, or the same user
// where Yama allows it).
type Stock struct {
	// Fault, when set, is called before every kernel call that changes a
	// socket during a restore, with a name for the call; an error it
	// returns is treated as the kernel's. Tests use it to fail the k-th call.
	Fault func(call string) error

	holders      *procfs.Index
	listing      sockdiag.Shared
	unlistedSeen unlistedCache
	only         atomic.Uint64 // LimitNetns: the one namespace listed, 0 for all
}

// LimitNetns makes List list one network namespace (by the inode of its
// nsfs file), or every one (0): inetcr mount --netns.
func (s *Stock) LimitNetns(ino uint64) { s.only.Store(ino) }

// NewStock returns the stock engine.
func NewStock() *Stock {
	netns.Self() // the server's namespace stays open from the start: one fd, not a leak
	return &Stock{holders: procfs.NewIndex()}
}

// Name is "stock".
func (s *Stock) Name() string { return "stock" }

// Close releases nothing: the engine holds no socket between calls.
func (s *Stock) Close() error { return nil }

// List returns the AF_INET and AF_INET6 sockets of every network
// namespace the server can reach, and those that some process holds
// unbound (listAll).
// Concurrent callers share one sock_diag dump, and a dump answers again
// for listFresh(its duration) after it ended, so a burst of lookups makes
// one dump while a closed socket still leaves the listing within a
// second. Every caller gets the same slice, which must not be modified.
func (s *Stock) List() ([]image.Socket, error) { return s.listing.Get(s.listAll) }

// Holders returns the processes that hold the socket.
func (s *Stock) Holders(inode uint64) ([]image.Holder, error) {
	refs, err := s.holders.Lookup(inode)
	if err != nil {
		return nil, &image.OpError{Op: "holders", Inode: inode, Err: err}
	}
	if len(refs) == 0 {
		return nil, &image.OpError{Op: "holders", Inode: inode, Err: image.ErrNoSocket}
	}
	out := make([]image.Holder, len(refs))
	for i, r := range refs {
		out[i] = image.Holder{Pid: r.Pid, Fd: r.Fd, Comm: procfs.Comm(r.Pid)}
	}
	return out, nil
}

// dupSocket duplicates the socket into this process. The caller closes the
// returned fd. It also returns the holder's pid, whose /proc/<pid>/net
// describes the socket's network namespace.
func (s *Stock) dupSocket(inode uint64) (int, int, error) {
	return s.dupSocketWith(inode, pidGetFd)
}

// dupSocketWith is dupSocket that duplicates through getFd first. The
// second look, after every indexed holder proved stale, opens pidfds of its
// own: a holder's pid may belong to another process by then.
func (s *Stock) dupSocketWith(inode uint64, getFd func(pid, fd int) (int, error)) (int, int, error) {
	refs, err := s.holders.Candidates(inode, false)
	if err != nil {
		return -1, 0, err
	}
	fd, pid, err := dupFrom(inode, refs, getFd)
	if errors.Is(err, image.ErrNoSocket) && len(refs) > 0 {
		// Every indexed holder was stale: look in /proc once more.
		if refs, err = s.holders.Candidates(inode, true); err != nil {
			return -1, 0, err
		}
		fd, pid, err = dupFrom(inode, refs, pidGetFd)
	}
	return fd, pid, err
}

// dupFrom duplicates the socket from the first of refs that still holds it.
func dupFrom(inode uint64, refs []procfs.Ref, getFd func(pid, fd int) (int, error)) (int, int, error) {
	var last error = image.ErrNoSocket
	for _, r := range refs {
		fd, err := getFd(r.Pid, r.Fd)
		if err != nil {
			last = err
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Ino != inode {
			unix.Close(fd) // the holder closed it and reused the number
			continue
		}
		dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		if err != nil || dom != unix.AF_INET && dom != unix.AF_INET6 {
			unix.Close(fd)
			return -1, 0, image.ErrNoSocket
		}
		return fd, r.Pid, nil
	}
	if errors.Is(last, unix.ESRCH) || errors.Is(last, unix.EBADF) || errors.Is(last, unix.ENOENT) {
		last = image.ErrNoSocket // the holder exited or closed it meanwhile
	}
	return -1, 0, last
}

func pidGetFd(pid, fd int) (int, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pidfd)
	return getFdWithin(pidfd, pid, fd)
}

// GetFdTimeout bounds a wait for pidfd_getfd, which waits for a holder in
// the middle of an exec (its exec lock) to finish it; an exec can in turn
// wait for this server (it closes the holder's files of the tree).
const GetFdTimeout = 2 * time.Second

// getFdWithin is pidfd_getfd with GetFdTimeout: past it, EAGAIN naming the
// holder, and the descriptor, if it comes later, is closed.
func getFdWithin(pidfd, pid, fd int) (int, error) {
	return deadline.Call(fmt.Sprintf("holder %d (in an exec?)", pid), GetFdTimeout,
		func() (int, error) { return unix.PidfdGetfd(pidfd, fd, 0) },
		func(dup int) { unix.Close(dup) })
}

// Dump returns the socket's image.
func (s *Stock) Dump(inode uint64) (*image.Image, error) {
	return s.dumpWith(inode, pidGetFd, procGroups)
}

// dumpFd reads a socket's image from a descriptor of it; candidates gives
// the (ifindex, group) pairs joined in the holder's network namespace.
func dumpFd(fd, pid int, candidates Candidates) (*image.Image, error) {
	family, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return nil, err
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, err
	}
	proto, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	if err != nil {
		return nil, err
	}
	opts := image.SharedOptionsFor(uint16(family), uint16(typ))
	img := &image.Image{Family: uint16(family), Type: uint16(typ), Protocol: uint16(proto), Values: make(map[uint16]image.Value, len(opts))}
	if img.Local, img.Peer, img.Flowinfo, err = addresses(fd, img.Family); err != nil {
		return nil, err
	}
	if img.State, err = socketState(fd, img); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if o.ExactOnly {
			continue // getsockopt cannot see it: unknown, so absent
		}
		v, err := get(fd, o)
		if err != nil {
			return nil, &image.OpError{Op: "getsockopt " + o.AttrName(), Err: err}
		}
		img.Values[o.Attr] = v
	}
	if image.MembershipApplies(img.Family, img.Type) {
		if img.Memberships, err = memberships(fd, pid, img.Family, img.Type, candidates); err != nil {
			return nil, &image.OpError{Op: "memberships", Err: err}
		}
	}
	nameInterfaces(fd, img)
	img.Canonicalize()
	return img, nil
}

// addresses reads LOCAL and PEER (and PEER's flow information, for
// AF_INET6); an unconnected socket's peer is the family's unspecified
// address, port 0.
func addresses(fd int, family uint16) (local, peer netip.AddrPort, flow uint32, err error) {
	if local, _, err = sockName(fd, unix.SYS_GETSOCKNAME, family); err != nil {
		return local, peer, 0, err
	}
	peer, flow, err = sockName(fd, unix.SYS_GETPEERNAME, family)
	if errors.Is(err, unix.ENOTCONN) {
		return local, unspecified(family), 0, nil
	}
	return local, peer, flow, err
}

// unspecified is 0.0.0.0:0, or [::]:0 for AF_INET6.
func unspecified(family uint16) netip.AddrPort {
	if family == unix.AF_INET6 {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

// sockName is getsockname or getpeername into a struct on the stack:
// unix.Getsockname allocates twice for every call, and a dump of every
// socket makes two calls per socket. The struct is a sockaddr_in6, which
// holds a sockaddr_in too; an address of another family than the
// socket's reads as its unspecified address, port 0. An AF_INET6
// address's scope id is its zone.
func sockName(fd int, call uintptr, family uint16) (netip.AddrPort, uint32, error) {
	var sa unix.RawSockaddrInet6
	n := uint32(unix.SizeofSockaddrInet6)
	_, _, e := unix.RawSyscall(call, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.AddrPort{}, 0, e
	}
	port := (*[2]byte)(unsafe.Pointer(&sa.Port)) // network order
	p := uint16(port[0])<<8 | uint16(port[1])
	switch {
	case sa.Family != family:
		return unspecified(family), 0, nil
	case family == unix.AF_INET:
		in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), p), 0, nil
	}
	flow := (*[4]byte)(unsafe.Pointer(&sa.Flowinfo)) // network order
	return netip.AddrPortFrom(image.WithScope(netip.AddrFrom16(sa.Addr), sa.Scope_id), p), binary.BigEndian.Uint32(flow[:]), nil
}

// socketState gives the state as sock_diag would: TCP's from TCP_INFO, a
// datagram or raw socket's from whether it is connected.
func socketState(fd int, img *image.Image) (uint8, error) {
	if img.Type == unix.SOCK_STREAM {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return 0, err
		}
		return info.State, nil
	}
	if img.Peer.Addr().IsUnspecified() {
		return image.StateClose, nil
	}
	return image.StateEstablished, nil
}
