package image

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"
)

// Image is one socket's checkpoint: its identity, its addresses, the value
// of every option of the table that applies to its type, and its multicast
// memberships. Encode turns it into the v1 attribute stream; Decode parses
// and validates one.
type Image struct {
	Family   uint16 // AF_INET or AF_INET6
	Type     uint16 // SOCK_DGRAM, SOCK_STREAM, SOCK_RAW
	Protocol uint16 // IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_TCP, or a raw protocol
	State    uint8  // TCP_* as sock_diag reports it
	// Local and Peer are IPv4 addresses for AF_INET, IPv6 ones (maybe
	// v4-mapped) for AF_INET6, whose zone is the scope id in decimal.
	Local netip.AddrPort
	Peer  netip.AddrPort
	// Flowinfo is PEER's sin6_flowinfo (AF_INET6; getsockname reports
	// none for LOCAL).
	Flowinfo uint32
	// Values holds one entry per applicable option, keyed by attribute id.
	// A flag that is off has an entry with Num 0; Encode leaves it out.
	Values      map[uint16]Value
	Memberships []Membership
	// JoinOrder says Memberships are in join order, oldest first, each with
	// the imr_address the socket joined with: the exact reader walks the
	// kernel's list (newest first) and reverses it, so that joining in
	// this order rebuilds the list. Without it the list is in canonical
	// order (Canonicalize) and imr_address 0.0.0.0 means unknown.
	JoinOrder bool
	// JoinOrder6 is JoinOrder for the IPv6 groups (IP6OPT_MEMBERSHIP_ORDER):
	// they are in join order, oldest first, ipv6_pinfo's ipv6_mc_list
	// reversed. Without it they are in canonical order. The two lists'
	// orders are independent: each flag orders its own list only.
	JoinOrder6 bool
	// Ifnames names interfaces by the index they had in the dumped
	// socket's network namespace (ifnames.go); nil when nothing is named.
	Ifnames map[int32]string
	// Revision is the option table's revision the image was made with
	// (TableRevision); 0 in an image built in memory means the current
	// one. Rows newer than it are not in Values (Knows).
	Revision uint32
}

// Value is one option's value. Which fields are used depends on the row's
// Kind: Num for flags, integers, buffer sizes and timeouts (0 or 1 for
// flags), Num and Num2 for linger (l_onoff, l_linger), Bytes for raw IP
// options, interface names and addresses (4 bytes, network order).
type Value struct {
	Num   uint64
	Num2  uint64
	Bytes []byte
}

// Equal reports whether two values are the same.
func (v Value) Equal(w Value) bool {
	return v.Num == w.Num && v.Num2 == w.Num2 && string(v.Bytes) == string(w.Bytes)
}

// Membership is one multicast membership of a socket with its source
// filter, IPv4 or IPv6 by its group. The default filter, EXCLUDE with no
// sources, is a plain IP_ADD_MEMBERSHIP (IPV6_ADD_MEMBERSHIP).
type Membership struct {
	Group netip.Addr
	// Address is imr_address of an IPv4 membership, 0.0.0.0 as the stock
	// engine reports it; an IPv6 membership has none (the zero Addr).
	Address netip.Addr
	Ifindex int32
	Mode    uint32       // MCAST_EXCLUDE (0) or MCAST_INCLUDE (1)
	Sources []netip.Addr // ascending
}

// Filter modes of a membership (MCAST_EXCLUDE, MCAST_INCLUDE).
const (
	ModeExclude uint32 = 0
	ModeInclude uint32 = 1
)

// HasFilter reports whether the membership's filter differs from the default.
func (m Membership) HasFilter() bool {
	return m.Mode != ModeExclude || len(m.Sources) > 0
}

// Key identifies a membership within one socket: (ifindex, group).
type MembershipKey struct {
	Ifindex int32
	Group   netip.Addr
}

// Key returns the membership's identity.
func (m Membership) Key() MembershipKey { return MembershipKey{m.Ifindex, m.Group} }

// Equal reports whether two memberships are the same, filter included.
func (m Membership) Equal(n Membership) bool {
	return m.Key() == n.Key() && m.Address == n.Address && m.Mode == n.Mode && slices.Equal(m.Sources, n.Sources)
}

// compareMemberships is the canonical order: ifindex, then group.
func compareMemberships(a, b Membership) int {
	if c := cmp.Compare(a.Ifindex, b.Ifindex); c != 0 {
		return c
	}
	return a.Group.Compare(b.Group)
}

// Canonicalize sorts memberships and their sources into the canonical
// order; a list in join order (JoinOrder, JoinOrder6) keeps its order,
// and its memberships their places among the other list's.
func (img *Image) Canonicalize() {
	for i := range img.Memberships {
		slices.SortFunc(img.Memberships[i].Sources, func(a, b netip.Addr) int { return a.Compare(b) })
	}
	if !img.JoinOrder && !img.JoinOrder6 {
		slices.SortFunc(img.Memberships, compareMemberships)
		return
	}
	for i := range groupLists {
		if g := &groupLists[i]; !*img.joinOrder(g) {
			sortWithin(img.Memberships, g.holds)
		}
	}
}

// sortWithin sorts the memberships of one list into canonical order in
// the places they have, leaving the others where they are.
func sortWithin(ms []Membership, in func(Membership) bool) {
	var at []int
	var list []Membership
	for i, m := range ms {
		if in(m) {
			at, list = append(at, i), append(list, m)
		}
	}
	slices.SortFunc(list, compareMemberships)
	for k, i := range at {
		ms[i] = list[k]
	}
}

// CanonicalOrder forgets the lists' join order: both flags off, the
// memberships in canonical order, as a reader that cannot see the
// kernel's lists (the stock one) gives them. Whatever compares
// memberships as sets wants them so.
func (img *Image) CanonicalOrder() {
	img.JoinOrder, img.JoinOrder6 = false, false
	img.Canonicalize()
}

// Clone returns a deep copy, so a caller can edit an image it was given.
func (img *Image) Clone() *Image {
	c := *img
	c.Values = make(map[uint16]Value, len(img.Values))
	for k, v := range img.Values {
		v.Bytes = slices.Clone(v.Bytes)
		c.Values[k] = v
	}
	c.Ifnames = maps.Clone(img.Ifnames)
	c.Memberships = make([]Membership, len(img.Memberships))
	for i, m := range img.Memberships {
		m.Sources = slices.Clone(m.Sources)
		c.Memberships[i] = m
	}
	return &c
}

// Membership finds a membership by its key.
func (img *Image) Membership(k MembershipKey) (Membership, bool) {
	for _, m := range img.Memberships {
		if m.Key() == k {
			return m, true
		}
	}
	return Membership{}, false
}

// Unbound reports whether the image's socket is not bound: its local
// address is 0.0.0.0 (or ::) and, unless it is raw (whose port is its protocol),
// its port is 0.
func (img *Image) Unbound() bool {
	if !img.Local.Addr().IsUnspecified() {
		return false
	}
	return img.Type == unix.SOCK_RAW || img.Local.Port() == 0
}

// Socket is one socket as a backend lists it.
type Socket struct {
	Inode    uint64
	Family   uint16 // AF_INET or AF_INET6
	Type     uint16 // SOCK_DGRAM, SOCK_STREAM, SOCK_RAW
	Protocol uint16 // IPPROTO_*
	State    uint8  // TCP_* as sock_diag reports it
	Local    netip.AddrPort
	Peer     netip.AddrPort
	UID      uint32
	// Netns is the inode of the socket's network namespace
	// (net:[INODE]); 0 while the backend does not say (the mount's own).
	Netns uint64
	// Unlisted is a socket in no sock_diag table (an unbound one), listed
	// from its holder: not everybody's name, as ss shows nobody it
	// (docs/security.md).
	Unlisted bool
	// Unheld is a socket no process holds (in flight in SCM_RIGHTS):
	// it can be read, not changed, since nothing can duplicate it.
	Unheld bool
}

// Holder is a process that holds a socket in one of its file descriptors.
type Holder struct {
	Pid  int
	Fd   int
	Comm string // /proc/<pid>/comm
}

// Meminfo is a socket's memory use (sock_diag's SK_MEMINFO): the bytes in
// its receive queue and their limit, those in its send queue and theirs,
// and the packets it dropped (sk_drops: a full receive queue, mostly).
type Meminfo struct {
	RmemAlloc, Rcvbuf, WmemAlloc, Sndbuf, Drops uint32
}
