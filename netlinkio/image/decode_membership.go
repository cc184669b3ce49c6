package image

import (
	"fmt"
	"net/netip"
)

// MaxMemberships is the most memberships the format holds: each takes 16
// bytes of IPOPT_MEMBERSHIP and an image is at most MaxImageSize bytes.
// The kernel's limit, net.ipv4.igmp_max_memberships (20 by default), is a
// setting of the socket's network namespace that may be raised; a restore
// past it fails at the join (ENOBUFS) and is rolled back.
const MaxMemberships = MaxImageSize / 16

// MaxSources is the most sources of one filter the format holds: each
// takes 8 bytes. The kernel's limit, net.ipv4.igmp_max_msf (10 by
// default), is per network namespace, as MaxMemberships says.
const MaxSources = MaxImageSize / 8

func parseMreqn(a Attr) (Membership, error) {
	if err := exactLen(a, 12); err != nil {
		return Membership{}, err
	}
	m := Membership{
		Group:   netip.AddrFrom4([4]byte(a.Data[0:4])),
		Address: netip.AddrFrom4([4]byte(a.Data[4:8])),
		Ifindex: int32(native.Uint32(a.Data[8:12])),
	}
	return m, nil
}

func decodeMemberships(img *Image, seen map[uint16]Attr) error {
	list, hasList := seen[AttrMembership]
	filters, hasFilters := seen[AttrSourceFilters]
	_, img.JoinOrder = seen[AttrMembershipOrder]
	if img.JoinOrder && img.Rev() < 2 {
		return AttrErrorf(AttrMembershipOrder, "added in table revision 2, but the image is of revision %d", img.Rev())
	}
	if !MembershipApplies(img.Type) {
		if img.JoinOrder {
			return NotApplicable(AttrName(AttrMembershipOrder), img.Type)
		}
		if hasList {
			return NotApplicable(AttrName(AttrMembership), img.Type)
		}
		if hasFilters {
			return NotApplicable(AttrName(AttrSourceFilters), img.Type)
		}
		return nil
	}
	if !hasList {
		return AttrErrorf(AttrMembership, "missing (an empty list is a nested attribute with no entries)")
	}
	entries, err := ParseAttrs(list.Data, "IPOPT_MEMBERSHIP")
	if err != nil {
		return err
	}
	index := map[MembershipKey]int{}
	for _, e := range entries {
		if e.Type != AttrMreq {
			return &AttrError{Attr: "IPOPT_MEMBERSHIP", Reason: fmt.Sprintf("holds %s; only IPOPT_MREQ entries belong there", AttrName(e.Type))}
		}
		if e.Nested {
			return AttrErrorf(AttrMreq, "must not be nested (NLA_F_NESTED is set)")
		}
		m, err := parseMreqn(e)
		if err != nil {
			return err
		}
		index[m.Key()] = len(img.Memberships) // a second entry is Validate's to refuse
		img.Memberships = append(img.Memberships, m)
	}
	if !hasFilters {
		return nil
	}
	fl, err := ParseAttrs(filters.Data, "IPOPT_SOURCE_FILTERS")
	if err != nil {
		return err
	}
	if len(fl) == 0 {
		return AttrErrorf(AttrSourceFilters, "present but empty; an image with no filters leaves it out")
	}
	for _, f := range fl {
		if f.Type != AttrSourceFilter || !f.Nested {
			return &AttrError{Attr: "IPOPT_SOURCE_FILTERS", Reason: fmt.Sprintf("holds %s; only nested IPOPT_SOURCE_FILTER entries belong there", AttrName(f.Type))}
		}
		if err := decodeSourceFilter(img, index, f.Data); err != nil {
			return err
		}
	}
	return nil
}

func decodeSourceFilter(img *Image, index map[MembershipKey]int, b []byte) error {
	parts, err := ParseAttrs(b, "IPOPT_SOURCE_FILTER")
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.Nested {
			return AttrErrorf(p.Type, "must not be nested (NLA_F_NESTED is set)")
		}
	}
	if len(parts) < 2 || parts[0].Type != AttrMsfMreq || parts[1].Type != AttrMsfMode {
		return &AttrError{Attr: "IPOPT_SOURCE_FILTER", Reason: "must start with IPOPT_MSF_MREQ then IPOPT_MSF_MODE"}
	}
	key, err := parseMreqn(parts[0])
	if err != nil {
		return err
	}
	i, ok := index[key.Key()]
	if !ok {
		return AttrErrorf(AttrMsfMreq, "group %s on ifindex %d has a filter but no membership", key.Group, key.Ifindex)
	}
	m := &img.Memberships[i]
	if key.Address != m.Address {
		return AttrErrorf(AttrMsfMreq, "group %s on ifindex %d: imr_address %s differs from the membership's %s", key.Group, key.Ifindex, key.Address, m.Address)
	}
	if m.HasFilter() {
		return AttrErrorf(AttrMsfMreq, "group %s on ifindex %d has two filters", key.Group, key.Ifindex)
	}
	if err := exactLen(parts[1], 4); err != nil {
		return err
	}
	m.Mode = native.Uint32(parts[1].Data)
	for _, s := range parts[2:] {
		if s.Type != AttrMsfSource {
			return &AttrError{Attr: "IPOPT_SOURCE_FILTER", Reason: fmt.Sprintf("holds %s after the mode; only IPOPT_MSF_SOURCE belongs there", AttrName(s.Type))}
		}
		if err := exactLen(s, 4); err != nil {
			return err
		}
		m.Sources = append(m.Sources, netip.AddrFrom4([4]byte(s.Data)))
	}
	if !m.HasFilter() {
		return AttrErrorf(AttrSourceFilter, "group %s: EXCLUDE with no sources is the default and is left out", m.Group)
	}
	return nil // the filter's rules are Validate's (Membership.Check)
}
