package stock

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"golang.org/x/sys/unix"
)

// A socket's memberships cannot be listed by any socket call. The groups
// joined on each interface of a network namespace can: /proc/<pid>/net/igmp
// and igmp6. Each candidate (ifindex, group) is then probed on the socket
// with getsockopt(MCAST_MSFILTER) (at IPPROTO_IP, or IPPROTO_IPV6 with a
// sockaddr_in6 for an IPv6 group), which fails with EADDRNOTAVAIL unless
// this socket has joined it, and otherwise returns its source filter.
// procfs.IGMP and IGMP6 read the candidates.

// Layout of struct group_req and struct group_filter: a u32 interface, the
// sockaddr_storage group aligned to a pointer, then (group_filter) the mode,
// the number of sources and the sources.
const (
	ssSize       = 128
	ptrSize      = int(unsafe.Sizeof(uintptr(0)))
	groupOffset  = (4 + ptrSize - 1) / ptrSize * ptrSize
	groupReqLen  = (groupOffset + ssSize + ptrSize - 1) / ptrSize * ptrSize
	fmodeOffset  = groupOffset + ssSize
	slistOffset  = (fmodeOffset + 8 + ptrSize - 1) / ptrSize * ptrSize
	mcastMSFilt  = 48 // MCAST_MSFILTER
	mcastJoin    = 42 // MCAST_JOIN_GROUP
	mcastLeave   = 45 // MCAST_LEAVE_GROUP
	maxProbeSrcs = 64
)

// putStorage writes a group or source into a sockaddr_storage: a
// sockaddr_in for an IPv4 address, a sockaddr_in6 for an IPv6 one.
func putStorage(b []byte, a netip.Addr) {
	if a.Is6() {
		native.PutUint16(b, unix.AF_INET6)
		a16 := a.As16()
		copy(b[8:24], a16[:])
		return
	}
	native.PutUint16(b, unix.AF_INET)
	a4 := a.As4()
	copy(b[4:8], a4[:])
}

// storageAddr reads the address of a sockaddr_storage of the group's
// family.
func storageAddr(b []byte, group netip.Addr) netip.Addr {
	if group.Is6() {
		return netip.AddrFrom16([16]byte(b[8:24]))
	}
	return netip.AddrFrom4([4]byte(b[4:8]))
}

// groupLevel is the level of a group's socket calls: IPPROTO_IP for an
// IPv4 group (on an AF_INET6 socket too), IPPROTO_IPV6 for an IPv6 one.
func groupLevel(group netip.Addr) int {
	if group.Is6() {
		return unix.IPPROTO_IPV6
	}
	return unix.IPPROTO_IP
}

// probeBufs holds the buffers of probes, 8 KB each: a dump of every socket
// probes each of them once per candidate group, and a fresh buffer each
// time would be most of what the dump allocates.
var probeBufs = sync.Pool{New: func() any {
	b := make([]byte, slistOffset+maxProbeSrcs*ssSize)
	return &b
}}

// probeMembership returns the socket's membership of k, or ok=false when
// the socket has not joined it. A filter with more sources than the pooled
// buffer holds (net.ipv4.igmp_max_msf may be raised) is probed again with
// a buffer of the size the kernel reported.
func probeMembership(fd int, k image.MembershipKey) (image.Membership, bool, error) {
	bp := probeBufs.Get().(*[]byte)
	defer probeBufs.Put(bp)
	b := *bp
	for {
		m, count, ok, err := probeInto(fd, k, b)
		if !ok || err != nil || count*ssSize <= len(b)-slistOffset {
			return m, ok, err
		}
		if count > image.MaxSources {
			return m, true, fmt.Errorf("MCAST_MSFILTER: %d sources, more than an image holds (%d)", count, image.MaxSources)
		}
		b = make([]byte, slistOffset+count*ssSize)
	}
}

// probeInto probes k with the buffer b; count is the filter's number of
// sources, of which the membership holds those that b had room for.
func probeInto(fd int, k image.MembershipKey, b []byte) (image.Membership, int, bool, error) {
	clear(b[:slistOffset])
	room := (len(b) - slistOffset) / ssSize
	native.PutUint32(b, uint32(k.Ifindex))
	putStorage(b[groupOffset:], k.Group)
	native.PutUint32(b[fmodeOffset+4:], uint32(room))
	n := uint32(len(b))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(groupLevel(k.Group)), mcastMSFilt,
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e == unix.EADDRNOTAVAIL || e == unix.ENODEV {
		return image.Membership{}, 0, false, nil
	}
	if e != 0 {
		return image.Membership{}, 0, false, e
	}
	m := image.Membership{Group: k.Group, Ifindex: k.Ifindex, Mode: native.Uint32(b[fmodeOffset:])}
	if k.Group.Is4() {
		m.Address = netip.IPv4Unspecified()
	}
	count := int(native.Uint32(b[fmodeOffset+4:]))
	for i := range min(count, room) {
		m.Sources = append(m.Sources, storageAddr(b[slistOffset+i*ssSize:], k.Group))
	}
	return m, count, true, nil
}

// Candidates gives the (ifindex, group) pairs joined in the network
// namespace of pid: IPv4 ones (/proc/<pid>/net/igmp) or, with v6, IPv6
// ones (igmp6).
type Candidates func(pid int, v6 bool) ([]image.MembershipKey, error)

// procGroups reads the candidates from pid's /proc files.
func procGroups(pid int, v6 bool) ([]image.MembershipKey, error) {
	if v6 {
		return procfs.IGMP6(pid)
	}
	return procfs.IGMP(pid)
}

// memberships returns every membership of the socket fd held by pid: the
// candidates of each family of groups the socket's family and type can
// join (an AF_INET6 UDP socket both), probed one by one.
func memberships(fd, pid int, family, typ uint16, candidates Candidates) ([]image.Membership, error) {
	v4, v6 := image.GroupFamilies(family, typ)
	var out []image.Membership
	for _, fam := range []struct{ on, v6 bool }{{v4, false}, {v6, true}} {
		if !fam.on {
			continue
		}
		cands, err := candidates(pid, fam.v6)
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
				err = image.ErrNoSocket // the holder exited meanwhile, as in hold
			}
			return nil, err
		}
		for _, k := range cands {
			m, ok, err := probeMembership(fd, k)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

func groupReq(m image.MembershipKey) []byte {
	b := make([]byte, groupReqLen)
	native.PutUint32(b, uint32(m.Ifindex))
	putStorage(b[groupOffset:], m.Group)
	return b
}

// join adds the membership with its filter: MCAST_JOIN_GROUP, then
// MCAST_MSFILTER when the filter is not the default.
func join(fd int, m image.Membership) error {
	if err := joinGroup(fd, m); err != nil {
		return err
	}
	if m.HasFilter() {
		if err := setFilter(fd, m); err != nil {
			leave(fd, m.Key())
			return err
		}
	}
	return nil
}

// joinGroup joins with MCAST_JOIN_GROUP, or, when the membership names an
// interface address (an exact image's imr_address), with
// IP_ADD_MEMBERSHIP and a struct ip_mreqn that carries it, so the kernel
// keeps the address as the original socket's list had it.
func joinGroup(fd int, m image.Membership) error {
	if !m.Address.IsValid() || m.Address.IsUnspecified() {
		return setRaw(fd, groupLevel(m.Group), mcastJoin, groupReq(m.Key()))
	}
	return setRaw(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreqn(m.Group, m.Address, m.Ifindex))
}

// mreqn is a struct ip_mreqn.
func mreqn(group, address netip.Addr, ifindex int32) []byte {
	b := make([]byte, 0, 12)
	for _, a := range []netip.Addr{group, address} {
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		a4 := a.As4()
		b = append(b, a4[:]...)
	}
	return native.AppendUint32(b, uint32(ifindex))
}

func leave(fd int, k image.MembershipKey) error {
	return setRaw(fd, groupLevel(k.Group), mcastLeave, groupReq(k))
}

// setFilter replaces the membership's source filter.
func setFilter(fd int, m image.Membership) error {
	b := make([]byte, slistOffset+max(len(m.Sources), 1)*ssSize)
	native.PutUint32(b, uint32(m.Ifindex))
	putStorage(b[groupOffset:], m.Group)
	native.PutUint32(b[fmodeOffset:], m.Mode)
	native.PutUint32(b[fmodeOffset+4:], uint32(len(m.Sources)))
	for i, s := range m.Sources {
		putStorage(b[slistOffset+i*ssSize:], s)
	}
	return setRaw(fd, groupLevel(m.Group), mcastMSFilt, b)
}
