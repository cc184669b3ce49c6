package image

import (
	"fmt"
	"net/netip"
	"slices"
)

// groupList is one of an image's lists of multicast memberships, with its
// source filters: the IPv4 groups (IPOPT_MEMBERSHIP, struct ip_mreqn,
// in_addr sources), which AF_INET UDP and RAW sockets hold and AF_INET6
// UDP sockets too (SOL_IP on a dual-stack socket), and the IPv6 groups
// (IP6OPT_MEMBERSHIP, struct ipv6_mreq, in6_addr sources) of AF_INET6 UDP
// and RAW sockets. Both lists have the same rules; only their attributes
// and address sizes differ. Each has its flag that says it is in join
// order (order: IPOPT_MEMBERSHIP_ORDER, IP6OPT_MEMBERSHIP_ORDER).
type groupList struct {
	v6                                                              bool
	list, mreq, filters, filter, msfMreq, msfMode, msfSource, order uint16
	types                                                           SocketTypes
}

var groupLists = [...]groupList{
	{false, AttrMembership, AttrMreq, AttrSourceFilters, AttrSourceFilter, AttrMsfMreq, AttrMsfMode, AttrMsfSource, AttrMembershipOrder, IPNoTCP},
	{true, AttrMembership6, AttrMreq6, AttrSourceFilters6, AttrSourceFilter6, AttrMsfMreq6, AttrMsfMode6, AttrMsfSource6, AttrMembershipOrder6, NoTCP6},
}

// orderSince is the table revision that added the order flags: an image
// of revision 1 has neither (docs/image-format.md, "Join order").
const orderSince = 2

// joinOrder is the image's flag that says the list g is in join order:
// JoinOrder for the IPv4 list, JoinOrder6 for the IPv6 one.
func (img *Image) joinOrder(g *groupList) *bool {
	if g.v6 {
		return &img.JoinOrder6
	}
	return &img.JoinOrder
}

// orderJSON is the JSON form's key for the order flag.
func (g *groupList) orderJSON() string {
	if g.v6 {
		return "membership6_order"
	}
	return "membership_order"
}

// checkOrder refuses a list's order flag on a socket that has no such
// list, or in an image older than the flag.
func (img *Image) checkOrder(g *groupList) error {
	if !*img.joinOrder(g) {
		return nil
	}
	if !g.types.Has(img.Family, img.Type) {
		return NotApplicable(AttrName(g.order), img.Family, img.Type)
	}
	if img.Rev() < orderSince {
		return AttrErrorf(g.order, "added in table revision %d, but the image is of revision %d", orderSince, img.Rev())
	}
	return nil
}

// listOf is the list a membership belongs in, by its group's family.
func listOf(g netip.Addr) *groupList { return &groupLists[listIndex(g)] }

// listIndex is the index in groupLists of the list of g.
func listIndex(g netip.Addr) int {
	if g.Is6() {
		return 1
	}
	return 0
}

// mreqLen is the size of a membership's struct: ip_mreqn or ipv6_mreq.
func (g *groupList) mreqLen() int {
	if g.v6 {
		return 20
	}
	return 12
}

// holds reports whether m belongs in this list.
func (g *groupList) holds(m Membership) bool { return m.Group.Is6() == g.v6 }

// isGroupAttr reports whether attr is one of the lists' top-level nested
// attributes.
func isGroupAttr(attr uint16) bool {
	for i := range groupLists {
		if attr == groupLists[i].list || attr == groupLists[i].filters {
			return true
		}
	}
	return false
}

// MembershipApplies says whether a socket of the family and type carries
// memberships at all: TCP sockets cannot join groups, so their images have
// no membership list.
func MembershipApplies(family, typ uint16) bool {
	return slices.ContainsFunc(groupLists[:], func(g groupList) bool { return g.types.Has(family, typ) })
}

// GroupApplies says whether a socket of the family and type can join the
// group's family: IPv4 groups on AF_INET and on AF_INET6 UDP sockets,
// IPv6 groups on AF_INET6 sockets only.
func GroupApplies(family, typ uint16, group netip.Addr) bool {
	return listOf(group).types.Has(family, typ)
}

// appendMreq appends a membership's struct as the attribute typ.
func (g *groupList) appendMreq(b []byte, typ uint16, m Membership) []byte {
	b = appendAttrHeader(b, typ, g.mreqLen())
	if !g.v6 {
		return appendMreqn(b, m)
	}
	a := m.Group.As16()
	b = append(b, a[:]...)
	return native.AppendUint32(b, uint32(m.Ifindex))
}

// appendSource appends one source of a filter.
func (g *groupList) appendSource(b []byte, s netip.Addr) []byte {
	if g.v6 {
		a := s.As16()
		return AppendAttr(b, g.msfSource, a[:])
	}
	a := s.As4()
	return AppendAttr(b, g.msfSource, a[:])
}

// parseMreq reads a membership's struct.
func (g *groupList) parseMreq(a Attr) (Membership, error) {
	if err := exactLen(a, g.mreqLen()); err != nil {
		return Membership{}, err
	}
	if !g.v6 {
		return parseMreqn(a)
	}
	return Membership{Group: netip.AddrFrom16([16]byte(a.Data[0:16])), Ifindex: int32(native.Uint32(a.Data[16:20]))}, nil
}

// parseSource reads one source of a filter.
func (g *groupList) parseSource(a Attr) (netip.Addr, error) {
	if g.v6 {
		if err := exactLen(a, 16); err != nil {
			return netip.Addr{}, err
		}
		return netip.AddrFrom16([16]byte(a.Data)), nil
	}
	if err := exactLen(a, 4); err != nil {
		return netip.Addr{}, err
	}
	return netip.AddrFrom4([4]byte(a.Data)), nil
}

// hasFilters reports whether a membership of the list has a filter other
// than the default.
func (img *Image) hasFilters(g *groupList) bool {
	return slices.ContainsFunc(img.Memberships, func(m Membership) bool { return g.holds(m) && m.HasFilter() })
}

// appendMemberships appends the nested list of the memberships of g.
func (img *Image) appendMemberships(b []byte, g *groupList) []byte {
	b, at := beginNested(b, g.list)
	for _, m := range img.Memberships {
		if g.holds(m) {
			b = g.appendMreq(b, g.mreq, m)
		}
	}
	return endNested(b, at)
}

// appendFilters appends the nested list of the filters of g that differ
// from the default.
func (img *Image) appendFilters(b []byte, g *groupList) []byte {
	b, all := beginNested(b, g.filters)
	for _, m := range img.Memberships {
		if !g.holds(m) || !m.HasFilter() {
			continue
		}
		var one int
		b, one = beginNested(b, g.filter)
		b = g.appendMreq(b, g.msfMreq, m)
		b = native.AppendUint32(appendAttrHeader(b, g.msfMode, 4), m.Mode)
		for _, s := range m.Sources {
			b = g.appendSource(b, s)
		}
		b = endNested(b, one)
	}
	return endNested(b, all)
}

// checkGroupFamily refuses a group that a socket cannot join, naming the
// list it would be in.
func (img *Image) checkGroupFamily(m Membership) *AttrError {
	g := listOf(m.Group)
	if g.types.Has(img.Family, img.Type) {
		return nil
	}
	return &AttrError{Attr: AttrName(g.list), Reason: fmt.Sprintf("group %s: does not apply to %s sockets", m.Group, SocketKindName(img.Family, img.Type))}
}

// GroupFamilies says which memberships a socket of the family and type
// carries: IPv4 groups, IPv6 groups, both (an AF_INET6 UDP socket) or
// none (TCP).
func GroupFamilies(family, typ uint16) (v4, v6 bool) {
	return groupLists[0].types.Has(family, typ), groupLists[1].types.Has(family, typ)
}
