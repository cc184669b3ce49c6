package stock

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"github.com/inetcr/inetcr/netlinkio/internal/sockdiag"
	"golang.org/x/sys/unix"
)

// unlistedAge is how old a walk of /proc may be for a listing to take the
// sockets sock_diag does not list from it: none, so that a listing shows
// every socket held when it started, as sock_diag's part does. Walks are
// still shared and spaced (procfs.Index): listings in a row share one.
const unlistedAge = 0

// listAll lists the sockets of every network namespace the server can
// reach (netns.List: those of processes and those named under
// /run/netns), one sock_diag dump each on a socket made inside it, then
// adds the inet sockets some process holds that no dump listed (unlisted),
// and sorts the whole by inode. A namespace that goes away between being
// found and being listed is skipped; a failure to list the server's own
// fails the listing.
func (s *Stock) listAll() ([]image.Socket, error) {
	nss, err := netns.List()
	if err != nil {
		return nil, &image.OpError{Op: "list", Err: err}
	}
	var all []image.Socket
	only := s.only.Load()
	for i, ns := range nss {
		if only != 0 && ns.Ino != only {
			continue
		}
		socks, err := listNetns(ns, i == 0)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			continue // gone meanwhile: its last process exited
		}
		for j := range socks {
			socks[j].Netns = ns.Ino
		}
		if all == nil {
			all = socks
		} else {
			all = append(all, socks...)
		}
	}
	if len(nss) > 1 {
		slices.SortFunc(all, func(a, b image.Socket) int { return cmp.Compare(a.Inode, b.Inode) })
	}
	more, err := s.unlisted(all)
	if err != nil {
		return nil, err
	}
	if len(more) > 0 {
		all = append(all, more...)
		slices.SortFunc(all, func(a, b image.Socket) int { return cmp.Compare(a.Inode, b.Inode) })
	}
	return all, nil
}

// listNetns lists one namespace: the server's own with a plain sock_diag
// socket, another through a socket made inside it.
func listNetns(ns netns.Namespace, own bool) ([]image.Socket, error) {
	if own {
		return sockdiag.List()
	}
	fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if ino, err := netns.InoOf(fd); err != nil || ino != ns.Ino {
		return nil, unix.ESRCH // the pid now names another process
	}
	return sockdiag.ListIn(fd)
}

// inetProtos are the sockfs protocol names (the system.sockprotoname
// attribute of a socket's /proc/PID/fd link) of the AF_INET sockets this
// engine handles; a protocol's AF_INET6 sockets have names of their own
// (UDPv6, ...).
var inetProtos = map[string]bool{"UDP": true, "UDP-Lite": true, "TCP": true, "RAW": true, "UDPv6": true, "UDPLITEv6": true, "TCPv6": true, "RAWv6": true}

// unlistedCache remembers, per socket inode, whether it is a socket of
// inetProtos, so that the unix and netlink sockets of a host cost one
// getxattr each in all, not one per listing.
type unlistedCache struct {
	mu   sync.Mutex
	inet map[uint64]bool
}

// unlisted returns the inet sockets that some process holds and that no
// dump listed (listed is sorted by inode): unbound sockets, which no hash
// table holds, and sockets of a namespace no process is in. Each is
// described from a duplicate, as a dump would see it.
func (s *Stock) unlisted(listed []image.Socket) ([]image.Socket, error) {
	idx, err := s.holders.Recent(unlistedAge)
	if err != nil {
		return nil, &image.OpError{Op: "list", Err: err}
	}
	var found []uint64
	next := map[uint64]bool{}
	s.unlistedSeen.mu.Lock()
	for ino, refs := range idx {
		if _, ok := slices.BinarySearchFunc(listed, ino, func(s image.Socket, ino uint64) int { return cmp.Compare(s.Inode, ino) }); ok {
			continue
		}
		inet, known := s.unlistedSeen.inet[ino]
		if !known {
			name, err := sockProtoName(refs[0])
			if err != nil {
				continue // closed meanwhile; asked again next time
			}
			inet = inetProtos[name]
		}
		next[ino] = inet
		if inet {
			found = append(found, ino)
		}
	}
	s.unlistedSeen.inet = next
	s.unlistedSeen.mu.Unlock()
	var out []image.Socket
	only := s.only.Load()
	for _, ino := range found {
		if sock, err := s.describe(ino); err == nil && (only == 0 || sock.Netns == only) {
			out = append(out, sock)
		}
	}
	return out, nil
}

// sockProtoName reads the protocol name sockfs gives the socket a
// descriptor of a process names.
func sockProtoName(r procfs.Ref) (string, error) {
	buf := make([]byte, 32)
	n, err := unix.Getxattr("/proc/"+strconv.Itoa(r.Pid)+"/fd/"+strconv.Itoa(r.Fd), "system.sockprotoname", buf)
	if err != nil {
		return "", err
	}
	b := buf[:n]
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(b), nil
}

// describe lists one socket from a duplicate of it: what sock_diag would
// say of it, its namespace included.
func (s *Stock) describe(inode uint64) (image.Socket, error) {
	fd, _, err := s.dupSocket(inode)
	if err != nil {
		return image.Socket{}, err
	}
	defer unix.Close(fd)
	return describeFd(fd, inode)
}

func describeFd(fd int, inode uint64) (image.Socket, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return image.Socket{}, err
	}
	proto, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	if err != nil {
		return image.Socket{}, err
	}
	family, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return image.Socket{}, err
	}
	img := &image.Image{Family: uint16(family), Type: uint16(typ), Protocol: uint16(proto)}
	if img.Local, img.Peer, img.Flowinfo, err = addresses(fd, img.Family); err != nil {
		return image.Socket{}, err
	}
	if img.Type == unix.SOCK_RAW {
		// sock_diag shows a raw socket's protocol as its port.
		img.Local = netip.AddrPortFrom(img.Local.Addr(), img.Protocol)
	}
	if img.State, err = socketState(fd, img); err != nil {
		return image.Socket{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return image.Socket{}, err
	}
	ns, err := netns.Of(fd)
	if err != nil {
		return image.Socket{}, err
	}
	defer unix.Close(ns)
	nsIno, err := netns.InoOf(ns)
	if err != nil {
		return image.Socket{}, err
	}
	return image.Socket{Inode: inode, Family: img.Family, Type: img.Type, Protocol: img.Protocol, State: img.State,
		Local: img.Local, Peer: img.Peer, UID: st.Uid, Netns: nsIno, Unlisted: true}, nil
}
