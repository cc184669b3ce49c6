package stock

import (
	"net"
	"strconv"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"golang.org/x/sys/unix"
)

// A socket's own network namespace is the context of everything done to
// it: interface names and indexes, the groups joined there (the probe's
// candidates), the route a connect would take. It is the namespace the
// socket was made in (SIOCGSKNS), which need not be its holder's. An
// ioctl on the socket itself (SIOCGIFNAME, SIOCGIFINDEX) answers for its
// namespace; what needs a file or a socket of the namespace is made on a
// thread inside it (netns.Run).

// ifname is the name of the interface ifindex in the namespace of the
// socket fd, or "" when it has none.
func ifname(fd int, ifindex int32) string {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return ""
	}
	ifr.SetUint32(uint32(ifindex))
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFNAME, ifr); err != nil {
		return ""
	}
	return ifr.Name()
}

// ifindexOf is the index of the interface name in the namespace of the
// socket fd.
func ifindexOf(fd int, name string) (int32, bool) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, false
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, false
	}
	return int32(ifr.Uint32()), true
}

// nameInterfaces fills img.Ifnames with the name of every index the image
// holds, as the socket's namespace names it.
func nameInterfaces(fd int, img *image.Image) {
	for _, i := range img.Ifindexes() {
		if n := ifname(fd, i); n != "" {
			if img.Ifnames == nil {
				img.Ifnames = map[int32]string{}
			}
			img.Ifnames[i] = n
		}
	}
}

// rebase gives want the indexes its interface names have in the
// namespace of the socket fd (image.Rebase).
func rebase(fd int, want *image.Image) (*image.Image, error) {
	return want.Rebase(func(name string) (int32, bool) { return ifindexOf(fd, name) }, socketNetnsName(fd))
}

// socketNetnsName names the socket's namespace for messages.
func socketNetnsName(fd int) string {
	ns, err := netns.Of(fd)
	if err != nil {
		return "(unknown)"
	}
	defer unix.Close(ns)
	ino, err := netns.InoOf(ns)
	if err != nil {
		return "(unknown)"
	}
	return netns.String(ino)
}

// groupsIn returns the candidates of the socket fd's own namespace: its
// holder's (from holder, which a batch reads once per process) when the
// holder is in it, else the groups file read inside the namespace.
func groupsIn(fd int, holder Candidates) Candidates {
	return func(pid int, v6 bool) ([]image.MembershipKey, error) {
		ns, err := netns.Of(fd)
		if err != nil {
			return holder(pid, v6) // SIOCGSKNS refused: the holder's is the best guess
		}
		defer unix.Close(ns)
		ino, err := netns.InoOf(ns)
		if err != nil {
			return nil, err
		}
		if pid > 0 {
			if h, err := netns.Ino("/proc/" + strconv.Itoa(pid) + "/ns/net"); err == nil && h == ino {
				return holder(pid, v6)
			}
		}
		f, err := openIGMPIn(ns)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if v6 {
			return f.Keys6()
		}
		return f.Keys()
	}
}

// openIGMPIn opens the groups file of the namespace nsfd.
func openIGMPIn(nsfd int) (*procfs.IGMPFile, error) {
	var f *procfs.IGMPFile
	err := netns.Run(nsfd, func() (err error) {
		f, err = procfs.OpenIGMPPath("/proc/thread-self/net/igmp")
		return err
	})
	return f, err
}

// scratchSocket makes a UDP socket in the namespace nsfd, for a route
// check that must mean there what it would mean to the target.
func scratchSocket(nsfd, family int) (int, error) {
	fd := -1
	err := netns.Run(nsfd, func() (err error) {
		fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	return fd, err
}

// Interfaces lists the interfaces of the socket's own network namespace,
// for the tree's membership names (image.Interface).
func (s *Stock) Interfaces(inode uint64) ([]image.Interface, error) {
	fd, _, err := s.dupSocket(inode)
	if err != nil {
		return nil, &image.OpError{Op: "interfaces", Inode: inode, Err: err}
	}
	defer unix.Close(fd)
	ns, err := netns.Of(fd)
	if err != nil {
		return nil, &image.OpError{Op: "interfaces", Inode: inode, Err: err}
	}
	defer unix.Close(ns)
	var ifs []net.Interface
	err = netns.Run(ns, func() (err error) {
		ifs, err = net.Interfaces() // a route socket made on this thread
		return err
	})
	if err != nil {
		return nil, &image.OpError{Op: "interfaces", Inode: inode, Err: err}
	}
	out := make([]image.Interface, len(ifs))
	for i, ifi := range ifs {
		out[i] = image.Interface{Index: int32(ifi.Index), Name: ifi.Name}
	}
	return out, nil
}

// Netns returns the inode of the socket's own network namespace.
func (s *Stock) Netns(inode uint64) (uint64, error) {
	fd, _, err := s.dupSocket(inode)
	if err != nil {
		return 0, &image.OpError{Op: "netns", Inode: inode, Err: err}
	}
	defer unix.Close(fd)
	ns, err := netns.Of(fd)
	if err != nil {
		return 0, &image.OpError{Op: "netns", Inode: inode, Err: err}
	}
	defer unix.Close(ns)
	return netns.InoOf(ns)
}

// Meminfo returns the socket's memory use as sock_diag's INET_DIAG_SKMEMINFO
// reports it (SO_MEMINFO, read on a duplicate): the receive queue's bytes
// and its limit, and the packets dropped.
func (s *Stock) Meminfo(inode uint64) (image.Meminfo, error) {
	fd, _, err := s.dupSocket(inode)
	if err != nil {
		return image.Meminfo{}, &image.OpError{Op: "meminfo", Inode: inode, Err: err}
	}
	defer unix.Close(fd)
	var m [skMeminfoVars]uint32
	n := uint32(len(m) * 4)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&m[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return image.Meminfo{}, &image.OpError{Op: "meminfo", Inode: inode, Err: e}
	}
	return image.Meminfo{RmemAlloc: m[0], Rcvbuf: m[1], WmemAlloc: m[2], Sndbuf: m[3], Drops: m[8]}, nil
}

// skMeminfoVars is SK_MEMINFO_VARS: rmem_alloc, rcvbuf, wmem_alloc,
// sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops.
const skMeminfoVars = 9
