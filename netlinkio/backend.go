package netlinkio

import (
	"fmt"
	"net/netip"
)

// Socket is one AF_INET socket as sock_diag lists it.
type Socket struct {
	Inode    uint64
	Type     uint16 // SOCK_DGRAM, SOCK_STREAM, SOCK_RAW
	Protocol uint16 // IPPROTO_*
	State    uint8  // TCP_* as sock_diag reports it
	Local    netip.AddrPort
	Peer     netip.AddrPort
	UID      uint32
}

// Holder is a process that holds a socket in one of its file descriptors.
type Holder struct {
	Pid  int
	Fd   int
	Comm string // /proc/<pid>/comm
}

// Backend dumps and restores sockets. The stock engine (Stock) does it with
// getsockopt/setsockopt on a duplicate of the socket; the kernel client
// (Kernel) asks the af_inet_cr generic netlink family. Both list sockets and
// find holders the same way, through sock_diag and /proc.
type Backend interface {
	// List returns the AF_INET sockets (UDP, UDP-Lite, TCP, RAW) of the
	// caller's network namespace that sock_diag reports, sorted by inode.
	// The slice may be shared with other callers (the stock engine gives
	// every caller of a fresh listing the same one, clipped so that an
	// append copies it): it must not be modified or sorted in place;
	// clone it to change it.
	List() ([]Socket, error)
	// Holders returns the processes that hold the socket, by pid then fd;
	// ErrNoSocket when none does.
	Holders(inode uint64) ([]Holder, error)
	// Dump returns the socket's image.
	Dump(inode uint64) (*Image, error)
	// Restore makes the socket's state equal to the image's. It validates
	// everything before changing anything, and a restore that fails halfway
	// puts back what it changed, so the socket's image is as before.
	Restore(inode uint64, img *Image) error
	// Name says which backend this is: "stock" or "kernel".
	Name() string
	Close() error
}

// Open returns the backend a user asked for: "stock", "kernel", or "auto",
// which is the kernel family when the running kernel resolves AF_INET_CR
// and the stock engine otherwise.
func Open(kind string) (Backend, error) {
	switch kind {
	case "stock":
		return NewStock(), nil
	case "kernel":
		return NewKernel(NewStock())
	case "auto", "":
		if k, err := NewKernel(NewStock()); err == nil {
			return k, nil
		}
		return NewStock(), nil
	}
	return nil, fmt.Errorf("backend %q: want auto, kernel or stock", kind)
}
