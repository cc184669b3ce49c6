package image

import (
	"fmt"
	"net/netip"
)

// MaxMemberships is the most memberships the format holds: each takes 16
// bytes of IPOPT_MEMBERSHIP (24 of IP6OPT_MEMBERSHIP) and an image is at most MaxImageSize bytes.
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

// decodeMemberships reads each membership list the socket's family and
// type carry, and refuses one it does not.
func decodeMemberships(img *Image, seen map[uint16]Attr) error {
	for i := range groupLists {
		g := &groupLists[i]
		_, *img.joinOrder(g) = seen[g.order]
		if err := img.checkOrder(g); err != nil {
			return err
		}
		if err := decodeList(img, seen, g); err != nil {
			return err
		}
	}
	return nil
}

func decodeList(img *Image, seen map[uint16]Attr, g *groupList) error {
	list, hasList := seen[g.list]
	filters, hasFilters := seen[g.filters]
	if !g.types.Has(img.Family, img.Type) {
		if hasList {
			return NotApplicable(AttrName(g.list), img.Family, img.Type)
		}
		if hasFilters {
			return NotApplicable(AttrName(g.filters), img.Family, img.Type)
		}
		return nil
	}
	if !hasList {
		return AttrErrorf(g.list, "missing (an empty list is a nested attribute with no entries)")
	}
	entries, err := ParseAttrs(list.Data, AttrName(g.list))
	if err != nil {
		return err
	}
	index := map[MembershipKey]int{}
	for _, e := range entries {
		if e.Type != g.mreq {
			return &AttrError{Attr: AttrName(g.list), Reason: fmt.Sprintf("holds %s; only %s entries belong there", AttrName(e.Type), AttrName(g.mreq))}
		}
		if e.Nested {
			return AttrErrorf(g.mreq, "must not be nested (NLA_F_NESTED is set)")
		}
		m, err := g.parseMreq(e)
		if err != nil {
			return err
		}
		index[m.Key()] = len(img.Memberships) // a second entry is Validate's to refuse
		img.Memberships = append(img.Memberships, m)
	}
	if !hasFilters {
		return nil
	}
	fl, err := ParseAttrs(filters.Data, AttrName(g.filters))
	if err != nil {
		return err
	}
	if len(fl) == 0 {
		return AttrErrorf(g.filters, "present but empty; an image with no filters leaves it out")
	}
	for _, f := range fl {
		if f.Type != g.filter || !f.Nested {
			return &AttrError{Attr: AttrName(g.filters), Reason: fmt.Sprintf("holds %s; only nested %s entries belong there", AttrName(f.Type), AttrName(g.filter))}
		}
		if err := decodeSourceFilter(img, g, index, f.Data); err != nil {
			return err
		}
	}
	return nil
}

func decodeSourceFilter(img *Image, g *groupList, index map[MembershipKey]int, b []byte) error {
	parts, err := ParseAttrs(b, AttrName(g.filter))
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.Nested {
			return AttrErrorf(p.Type, "must not be nested (NLA_F_NESTED is set)")
		}
	}
	if len(parts) < 2 || parts[0].Type != g.msfMreq || parts[1].Type != g.msfMode {
		return &AttrError{Attr: AttrName(g.filter), Reason: fmt.Sprintf("must start with %s then %s", AttrName(g.msfMreq), AttrName(g.msfMode))}
	}
	key, err := g.parseMreq(parts[0])
	if err != nil {
		return err
	}
	i, ok := index[key.Key()]
	if !ok {
		return AttrErrorf(g.msfMreq, "group %s on ifindex %d has a filter but no membership", key.Group, key.Ifindex)
	}
	m := &img.Memberships[i]
	if key.Address != m.Address {
		return AttrErrorf(g.msfMreq, "group %s on ifindex %d: imr_address %s differs from the membership's %s", key.Group, key.Ifindex, key.Address, m.Address)
	}
	if m.HasFilter() {
		return AttrErrorf(g.msfMreq, "group %s on ifindex %d has two filters", key.Group, key.Ifindex)
	}
	if err := exactLen(parts[1], 4); err != nil {
		return err
	}
	m.Mode = native.Uint32(parts[1].Data)
	for _, s := range parts[2:] {
		if s.Type != g.msfSource {
			return &AttrError{Attr: AttrName(g.filter), Reason: fmt.Sprintf("holds %s after the mode; only %s belongs there", AttrName(s.Type), AttrName(g.msfSource))}
		}
		src, err := g.parseSource(s)
		if err != nil {
			return err
		}
		m.Sources = append(m.Sources, src)
	}
	if !m.HasFilter() {
		return AttrErrorf(g.filter, "group %s: EXCLUDE with no sources is the default and is left out", m.Group)
	}
	return nil // the filter's rules are Validate's (Membership.Check)
}
