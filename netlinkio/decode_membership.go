package netlinkio

import (
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"
)

// MaxMemberships mirrors the kernel's default net.ipv4.igmp_max_memberships;
// a longer list cannot be restored on a default kernel.
const MaxMemberships = 20

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// MaxSources mirrors the default net.ipv4.igmp_max_msf.
const MaxSources = 10

func parseMreqn(a attr) (Membership, error) {
	if err := exactLen(a, 12); err != nil {
		return Membership{}, err
	}
	m := Membership{
		Group:   netip.AddrFrom4([4]byte(a.data[0:4])),
		Address: netip.AddrFrom4([4]byte(a.data[4:8])),
		Ifindex: int32(native.Uint32(a.data[8:12])),
	}
	if !m.Group.IsMulticast() {
		return m, attrErr(a.typ, "group %s is not an IPv4 multicast address", m.Group)
	}
	if m.Ifindex <= 0 {
		return m, attrErr(a.typ, "group %s has ifindex %d; a membership names its interface", m.Group, m.Ifindex)
	}
	return m, nil
}

func decodeMemberships(img *Image, seen map[uint16]attr) error {
	list, hasList := seen[AttrMembership]
	filters, hasFilters := seen[AttrSourceFilters]
	if !membershipApplies(img.Type) {
		if hasList {
			return attrErr(AttrMembership, "does not apply to %s sockets", typeName(img.Type))
		}
		if hasFilters {
			return attrErr(AttrSourceFilters, "does not apply to %s sockets", typeName(img.Type))
		}
		return nil
	}
	if !hasList {
		return attrErr(AttrMembership, "missing (an empty list is a nested attribute with no entries)")
	}
	entries, err := parseAttrs(list.data, "IPOPT_MEMBERSHIP")
	if err != nil {
		return err
	}
	index := map[MembershipKey]int{}
	for _, e := range entries {
		if e.typ != AttrMreq {
			return &AttrError{Attr: "IPOPT_MEMBERSHIP", Reason: fmt.Sprintf("holds %s; only IPOPT_MREQ entries belong there", AttrName(e.typ))}
		}
		if e.nested {
			return attrErr(AttrMreq, "must not be nested (NLA_F_NESTED is set)")
		}
		m, err := parseMreqn(e)
		if err != nil {
			return err
		}
		if _, dup := index[m.Key()]; dup {
			return attrErr(AttrMreq, "group %s on ifindex %d is listed twice", m.Group, m.Ifindex)
		}
		index[m.Key()] = len(img.Memberships)
		img.Memberships = append(img.Memberships, m)
	}
	if len(img.Memberships) > MaxMemberships {
		return attrErr(AttrMembership, "%d memberships, more than igmp_max_memberships (%d)", len(img.Memberships), MaxMemberships)
	}
	if !hasFilters {
		return nil
	}
	fl, err := parseAttrs(filters.data, "IPOPT_SOURCE_FILTERS")
	if err != nil {
		return err
	}
	if len(fl) == 0 {
		return attrErr(AttrSourceFilters, "present but empty; an image with no filters leaves it out")
	}
	for _, f := range fl {
		if f.typ != AttrSourceFilter || !f.nested {
			return &AttrError{Attr: "IPOPT_SOURCE_FILTERS", Reason: fmt.Sprintf("holds %s; only nested IPOPT_SOURCE_FILTER entries belong there", AttrName(f.typ))}
		}
		if err := decodeSourceFilter(img, index, f.data); err != nil {
			return err
		}
	}
	return nil
}

func decodeSourceFilter(img *Image, index map[MembershipKey]int, b []byte) error {
	parts, err := parseAttrs(b, "IPOPT_SOURCE_FILTER")
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.nested {
			return attrErr(p.typ, "must not be nested (NLA_F_NESTED is set)")
		}
	}
	if len(parts) < 2 || parts[0].typ != AttrMsfMreq || parts[1].typ != AttrMsfMode {
		return &AttrError{Attr: "IPOPT_SOURCE_FILTER", Reason: "must start with IPOPT_MSF_MREQ then IPOPT_MSF_MODE"}
	}
	key, err := parseMreqn(parts[0])
	if err != nil {
		return err
	}
	i, ok := index[key.Key()]
	if !ok {
		return attrErr(AttrMsfMreq, "group %s on ifindex %d has a filter but no membership", key.Group, key.Ifindex)
	}
	m := &img.Memberships[i]
	if key.Address != m.Address {
		return attrErr(AttrMsfMreq, "group %s on ifindex %d: imr_address %s differs from the membership's %s", key.Group, key.Ifindex, key.Address, m.Address)
	}
	if m.HasFilter() {
		return attrErr(AttrMsfMreq, "group %s on ifindex %d has two filters", key.Group, key.Ifindex)
	}
	if err := exactLen(parts[1], 4); err != nil {
		return err
	}
	m.Mode = native.Uint32(parts[1].data)
	if m.Mode != ModeExclude && m.Mode != ModeInclude {
		return attrErr(AttrMsfMode, "mode %d is neither MCAST_EXCLUDE (0) nor MCAST_INCLUDE (1)", m.Mode)
	}
	for _, s := range parts[2:] {
		if s.typ != AttrMsfSource {
			return &AttrError{Attr: "IPOPT_SOURCE_FILTER", Reason: fmt.Sprintf("holds %s after the mode; only IPOPT_MSF_SOURCE belongs there", AttrName(s.typ))}
		}
		if err := exactLen(s, 4); err != nil {
			return err
		}
		src := netip.AddrFrom4([4]byte(s.data))
		if src.IsMulticast() || src.IsUnspecified() || src == broadcast {
			return attrErr(AttrMsfSource, "source %s is not a unicast address", src)
		}
		for _, have := range m.Sources {
			if have == src {
				return attrErr(AttrMsfSource, "source %s is listed twice", src)
			}
		}
		m.Sources = append(m.Sources, src)
	}
	if len(m.Sources) > MaxSources {
		return attrErr(AttrSourceFilter, "%d sources for %s, more than igmp_max_msf (%d)", len(m.Sources), m.Group, MaxSources)
	}
	if !m.HasFilter() {
		return attrErr(AttrSourceFilter, "group %s: EXCLUDE with no sources is the default and is left out", m.Group)
	}
	if m.Mode == ModeInclude && len(m.Sources) == 0 {
		return attrErr(AttrSourceFilter, "group %s: INCLUDE with no sources is no membership", m.Group)
	}
	return nil
}

// Validate checks what holds across attributes: identity, state and
// addresses that make sense together. Decode calls it; so does a restore
// of an image that was built in memory.
func (img *Image) Validate() error {
	if err := img.validateIdentity(); err != nil {
		return err
	}
	if err := img.validateAddresses(); err != nil {
		return err
	}
	for i := range Options {
		o := &Options[i]
		v, ok := img.Values[o.Attr]
		if !o.Types.Has(img.Type) {
			if ok && (v.Num != 0 || v.Bytes != nil) {
				return attrErr(o.Attr, "does not apply to %s sockets", typeName(img.Type))
			}
			continue
		}
		if !ok && o.Kind != Flag && o.Kind != BufLock {
			return attrErr(o.Attr, "missing")
		}
		if err := o.Check(v); err != nil {
			return err
		}
	}
	return img.validateMemberships()
}

// validateIdentity checks FAMILY, TYPE and PROTOCOL.
func (img *Image) validateIdentity() error {
	if img.Family != unix.AF_INET {
		return attrErr(AttrFamily, "family %d, want AF_INET (%d)", img.Family, unix.AF_INET)
	}
	switch img.Type {
	case unix.SOCK_DGRAM:
		if img.Protocol != unix.IPPROTO_UDP && img.Protocol != unix.IPPROTO_UDPLITE {
			return attrErr(AttrProtocol, "protocol %d is not UDP or UDP-Lite for SOCK_DGRAM", img.Protocol)
		}
	case unix.SOCK_STREAM:
		if img.Protocol != unix.IPPROTO_TCP {
			return attrErr(AttrProtocol, "protocol %d is not TCP for SOCK_STREAM", img.Protocol)
		}
	case unix.SOCK_RAW:
		if img.Protocol == 0 || img.Protocol > 255 {
			return attrErr(AttrProtocol, "protocol %d is not a raw IP protocol (1-255)", img.Protocol)
		}
	default:
		return attrErr(AttrType, "type %d is not SOCK_DGRAM, SOCK_STREAM or SOCK_RAW", img.Type)
	}
	return nil
}

// validateAddresses checks STATE, LOCAL and PEER together.
func (img *Image) validateAddresses() error {
	if !img.Local.Addr().Is4() {
		return attrErr(AttrLocal, "%s is not an IPv4 address", img.Local)
	}
	if !img.Peer.Addr().Is4() {
		return attrErr(AttrPeer, "%s is not an IPv4 address", img.Peer)
	}
	if img.State < 1 || img.State > 12 {
		return attrErr(AttrState, "state %d out of range 1-12", img.State)
	}
	if img.Type != unix.SOCK_STREAM && img.State != stateEstablished && img.State != stateClose {
		return attrErr(AttrState, "state %d: a %s socket is ESTABLISHED (1) or CLOSE (7)", img.State, typeName(img.Type))
	}
	connected := img.Peer.Addr().IsValid() && !img.Peer.Addr().IsUnspecified()
	if img.Type != unix.SOCK_STREAM && connected != (img.State == stateEstablished) {
		return attrErr(AttrPeer, "peer %s does not agree with state %d", img.Peer, img.State)
	}
	if img.Type == unix.SOCK_DGRAM && connected && img.Peer.Port() == 0 {
		return attrErr(AttrPeer, "peer %s has no port", img.Peer)
	}
	return nil
}

// validateMemberships checks the list as a whole, for images that were not
// decoded (built from JSON or in memory).
func (img *Image) validateMemberships() error {
	if !membershipApplies(img.Type) && len(img.Memberships) > 0 {
		return attrErr(AttrMembership, "does not apply to %s sockets", typeName(img.Type))
	}
	if len(img.Memberships) > MaxMemberships {
		return attrErr(AttrMembership, "%d memberships, more than igmp_max_memberships (%d)", len(img.Memberships), MaxMemberships)
	}
	seen := map[MembershipKey]bool{}
	for _, m := range img.Memberships {
		if m.Address.IsValid() && !m.Address.Is4() {
			return attrErr(AttrMreq, "group %s: imr_address %s is not an IPv4 address", m.Group, m.Address)
		}
		if !m.Group.Is4() || !m.Group.IsMulticast() {
			return attrErr(AttrMreq, "group %s is not an IPv4 multicast address", m.Group)
		}
		if m.Ifindex <= 0 {
			return attrErr(AttrMreq, "group %s has ifindex %d; a membership names its interface", m.Group, m.Ifindex)
		}
		if seen[m.Key()] {
			return attrErr(AttrMreq, "group %s on ifindex %d is listed twice", m.Group, m.Ifindex)
		}
		seen[m.Key()] = true
		if m.Mode != ModeExclude && m.Mode != ModeInclude {
			return attrErr(AttrMsfMode, "mode %d is neither MCAST_EXCLUDE (0) nor MCAST_INCLUDE (1)", m.Mode)
		}
		if m.Mode == ModeInclude && len(m.Sources) == 0 {
			return attrErr(AttrSourceFilter, "group %s: INCLUDE with no sources is no membership", m.Group)
		}
		if len(m.Sources) > MaxSources {
			return attrErr(AttrSourceFilter, "%d sources for %s, more than igmp_max_msf (%d)", len(m.Sources), m.Group, MaxSources)
		}
		for i, s := range m.Sources {
			if !s.Is4() || s.IsMulticast() || s.IsUnspecified() || s == broadcast {
				return attrErr(AttrMsfSource, "source %s is not a unicast IPv4 address", s)
			}
			if slices.Contains(m.Sources[:i], s) {
				return attrErr(AttrMsfSource, "source %s is listed twice", s)
			}
		}
	}
	return nil
}

// TCP states as sock_diag reports them.
const (
	stateEstablished = 1
	stateClose       = 7
	stateListen      = 10
)
