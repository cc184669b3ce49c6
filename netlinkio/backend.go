package netlinkio

import (
	"fmt"
	"log"

	"github.com/inetcr/inetcr/netlinkio/crfamily"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// Backend dumps and restores sockets. The stock engine (stock.Stock) does
// it with getsockopt/setsockopt on a duplicate of the socket; the kernel
// client (crfamily.Kernel) asks the af_inet_cr generic netlink family. Both list sockets and
// find holders the same way, through sock_diag and /proc.
type Backend interface {
	// List returns the AF_INET sockets (UDP, UDP-Lite, TCP, RAW) of the
	// caller's network namespace that sock_diag reports, sorted by inode.
	// The slice may be shared with other callers (the stock engine gives
	// every caller of a fresh listing the same one, clipped so that an
	// append copies it): it must not be modified or sorted in place;
	// clone it to change it.
	List() ([]image.Socket, error)
	// Holders returns the processes that hold the socket, by pid then fd;
	// image.ErrNoSocket when none does.
	Holders(inode uint64) ([]image.Holder, error)
	// Dump returns the socket's image.
	Dump(inode uint64) (*image.Image, error)
	// Restore makes the socket's state equal to the image's, as this
	// process. It validates everything before changing anything, and a
	// restore that fails halfway puts back what it changed, so the
	// socket's image is as before.
	Restore(inode uint64, img *image.Image) error
	// Hold takes the socket for changes made on behalf of others
	// (held.Socket.Update); the tree takes it when a file is opened for
	// writing.
	Hold(inode uint64) (held.Socket, error)
	// Name says which backend this is: "stock", "kernel" or "exact".
	Name() string
	Close() error
}

// Open returns the backend a user asked for: "stock", "kernel", "exact",
// or "auto", which is the kernel family when the running kernel resolves
// AF_INET_CR, else the exact reader where it can run, else the stock
// engine, with one log line saying why the exact reader cannot run.
// "exact" forced fails with that reason.
func Open(kind string) (Backend, error) {
	return OpenWith(kind, exact.Config{}, log.Printf)
}

// OpenWith is Open with the exact reader's configuration and the logger
// of the fallback's line (tests force each fallback with them).
func OpenWith(kind string, cfg exact.Config, logf func(format string, args ...any)) (Backend, error) {
	switch kind {
	case "stock":
		return stock.NewStock(), nil
	case "kernel":
		return crfamily.NewKernel(stock.NewStock())
	case "exact":
		return exact.Open(cfg)
	case "auto", "":
		if k, err := crfamily.NewKernel(stock.NewStock()); err == nil {
			return k, nil
		}
		e, err := exact.Open(cfg)
		if err == nil {
			return e, nil
		}
		logf("inetcr: backend auto: stock, since the %v", err)
		return stock.NewStock(), nil
	}
	return nil, fmt.Errorf("backend %q: want auto, kernel, exact or stock", kind)
}

// Where is what a backend tells of a socket besides its image, which the
// tree asks for (info, membership names, a tree of one namespace): its
// network namespace, that namespace's interfaces, its memory use; and
// LimitNetns, which makes List list one namespace. Every backend has it.
type Where interface {
	Netns(inode uint64) (uint64, error)
	Interfaces(inode uint64) ([]image.Interface, error)
	Meminfo(inode uint64) (image.Meminfo, error)
	LimitNetns(ino uint64)
}

var (
	_ Where       = (*stock.Stock)(nil)
	_ Where       = (*crfamily.Kernel)(nil)
	_ Where       = (*exact.Exact)(nil)
	_ Backend     = (*stock.Stock)(nil)
	_ BatchDumper = (*stock.Stock)(nil)
	_ Backend     = (*crfamily.Kernel)(nil)
	_ Backend     = (*exact.Exact)(nil)
	_ BatchDumper = (*exact.Exact)(nil)
)
