package image

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

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
	if err := checkRevision(img.Rev()); err != nil {
		return err
	}
	for i := range Options {
		o := &Options[i]
		v, ok := img.Values[o.Attr]
		if !o.Types.Has(img.Family, img.Type) {
			if ok && (v.Num != 0 || v.Bytes != nil) {
				return NotApplicable(AttrName(o.Attr), img.Family, img.Type)
			}
			continue
		}
		if !img.hasRow(o) {
			if ok {
				return newerRow(o, img.Rev())
			}
			continue
		}
		if !ok && o.ExactOnly {
			continue // unknown: restore leaves it
		}
		if !ok && !o.Kind.IsFlag() {
			return AttrErrorf(o.Attr, "missing")
		}
		if err := o.Check(v); err != nil {
			return err
		}
	}
	if err := img.validateTstampNew(); err != nil {
		return err
	}
	if err := img.checkV6Only(); err != nil {
		return err
	}
	if err := img.validateMemberships(); err != nil {
		return err
	}
	if err := img.validateIfnames(); err != nil {
		return err
	}
	return img.validateSize()
}

// validateSize refuses an image built in memory that encodes to more than
// MaxImageSize bytes, which Decode would refuse. Only an image with long
// lists can come near, so only such an image is encoded to be measured.
func (img *Image) validateSize() error {
	n := 0
	for _, v := range img.Values {
		n += len(v.Bytes) // a socket filter takes up to 32 KiB
	}
	for _, m := range img.Memberships {
		n += 2*(nlaHdrLen+12) + 3*nlaHdrLen + 4 + len(m.Sources)*(nlaHdrLen+4)
		if m.Group.Is6() {
			n += 2*8 + len(m.Sources)*12
		}
	}
	if n < MaxImageSize/2 {
		return nil
	}
	if size := len(img.Encode()); size > MaxImageSize {
		return &AttrError{Attr: "image", Reason: fmt.Sprintf("%d bytes, larger than %d", size, MaxImageSize)}
	}
	return nil
}

// validateIdentity checks FAMILY, TYPE and PROTOCOL.
func (img *Image) validateIdentity() error {
	if err := checkFamily(img.Family); err != nil {
		return err
	}
	switch img.Type {
	case unix.SOCK_DGRAM:
		if img.Protocol != unix.IPPROTO_UDP && img.Protocol != unix.IPPROTO_UDPLITE {
			return AttrErrorf(AttrProtocol, "protocol %d is not UDP or UDP-Lite for SOCK_DGRAM", img.Protocol)
		}
	case unix.SOCK_STREAM:
		if img.Protocol != unix.IPPROTO_TCP {
			return AttrErrorf(AttrProtocol, "protocol %d is not TCP for SOCK_STREAM", img.Protocol)
		}
	case unix.SOCK_RAW:
		if img.Protocol == 0 || img.Protocol > 255 {
			return AttrErrorf(AttrProtocol, "protocol %d is not a raw IP protocol (1-255)", img.Protocol)
		}
	default:
		return AttrErrorf(AttrType, "type %d is not SOCK_DGRAM, SOCK_STREAM or SOCK_RAW", img.Type)
	}
	return nil
}

// checkFamily refuses a family other than AF_INET and AF_INET6.
func checkFamily(family uint16) error {
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return AttrErrorf(AttrFamily, "family %d, want AF_INET (%d) or AF_INET6 (%d)", family, unix.AF_INET, unix.AF_INET6)
	}
	return nil
}

// validateAddresses checks STATE, LOCAL and PEER together.
func (img *Image) validateAddresses() error {
	for _, a := range []struct {
		attr uint16
		ap   netip.AddrPort
	}{{AttrLocal, img.Local}, {AttrPeer, img.Peer}} {
		if err := checkAddr(a.attr, img.Family, a.ap); err != nil {
			return err
		}
	}
	if img.Family == unix.AF_INET && img.Flowinfo != 0 {
		return AttrErrorf(AttrPeer, "flow information %#x on an AF_INET socket", img.Flowinfo)
	}
	if img.State < 1 || img.State > 12 {
		return AttrErrorf(AttrState, "state %d out of range 1-12", img.State)
	}
	if img.Type != unix.SOCK_STREAM && img.State != StateEstablished && img.State != StateClose {
		return AttrErrorf(AttrState, "state %d: a %s socket is ESTABLISHED (1) or CLOSE (7)", img.State, TypeName(img.Type))
	}
	connected := img.Peer.Addr().IsValid() && !img.Peer.Addr().IsUnspecified()
	if img.Type != unix.SOCK_STREAM && connected != (img.State == StateEstablished) {
		return AttrErrorf(AttrPeer, "peer %s does not agree with state %d", img.Peer, img.State)
	}
	if img.Type == unix.SOCK_DGRAM && connected && img.Peer.Port() == 0 {
		return AttrErrorf(AttrPeer, "peer %s has no port", img.Peer)
	}
	return nil
}

// checkAddr checks LOCAL or PEER against the family: an IPv4 address for
// AF_INET; for AF_INET6 an IPv6 one (v4-mapped too), whose zone, if any,
// is a scope id (a decimal ifindex) on an address that has a scope.
func checkAddr(attr, family uint16, ap netip.AddrPort) error {
	a := ap.Addr()
	if family == unix.AF_INET {
		if !a.Is4() {
			return AttrErrorf(attr, "%s is not an IPv4 address", ap)
		}
		return nil
	}
	if !a.Is6() {
		return AttrErrorf(attr, "%s is not an IPv6 address (an AF_INET6 socket's IPv4 peer is v4-mapped, [::ffff:%s])", ap, a)
	}
	if z := a.Zone(); z != "" {
		if scope := ScopeID(a); scope == 0 || strconv.FormatUint(uint64(scope), 10) != z {
			return AttrErrorf(attr, "%s: the zone must be a scope id, an ifindex in decimal", ap)
		}
		if !needsScope(a) {
			return AttrErrorf(attr, "%s: only a link-local address has a scope id", ap)
		}
	}
	return nil
}

// needsScope reports whether the kernel gives the address a scope id
// (__ipv6_addr_needs_scope_id): link-local unicast, and link- or
// interface-local multicast.
func needsScope(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast())
}

// validateMemberships checks the list: each membership by its own rules
// (Membership.Check), then the list as a whole. An error for one
// membership records its index, which the JSON form names
// (memberships[2].sources[1]).
func (img *Image) validateMemberships() error {
	if !MembershipApplies(img.Family, img.Type) && len(img.Memberships) > 0 {
		return NotApplicable(AttrName(AttrMembership), img.Family, img.Type)
	}
	for i := range groupLists {
		if err := img.checkOrder(&groupLists[i]); err != nil {
			return err
		}
	}
	if len(img.Memberships) > MaxMemberships {
		return AttrErrorf(AttrMembership, "%d memberships, more than an image holds (%d)", len(img.Memberships), MaxMemberships)
	}
	seen := make(map[MembershipKey]bool, len(img.Memberships))
	for i, m := range img.Memberships {
		err := m.check()
		if err == nil {
			err = img.checkGroupFamily(m)
		}
		if err != nil {
			err.field = fmt.Sprintf("[%d].%s", i, err.field)
			return err
		}
		if seen[m.Key()] {
			return &AttrError{Attr: AttrName(listOf(m.Group).mreq), Reason: fmt.Sprintf("group %s on ifindex %d is listed twice", m.Group, m.Ifindex), field: fmt.Sprintf("[%d]", i)}
		}
		seen[m.Key()] = true
	}
	return nil
}

// Check judges one membership by the rules every form of it shares (an
// image, its JSON form, a membership file of the tree): a multicast group
// on an interface, a known mode, and sources that are unicast, each once,
// at least one for INCLUDE. The error is an *AttrError naming the
// attribute that breaks the rule.
func (m Membership) Check() error {
	if err := m.check(); err != nil {
		return err
	}
	return nil
}

func (m Membership) check() *AttrError {
	bad := func(attr uint16, field, format string, args ...any) *AttrError {
		return &AttrError{Attr: AttrName(attr), Reason: fmt.Sprintf(format, args...), field: field}
	}
	g := listOf(m.Group)
	if g.v6 && m.Address.IsValid() {
		return bad(g.mreq, "address", "group %s: an IPv6 membership has no interface address (%s)", m.Group, m.Address)
	}
	if m.Address.IsValid() && !m.Address.Is4() {
		return bad(AttrMreq, "address", "group %s: imr_address %s is not an IPv4 address", m.Group, m.Address)
	}
	if err := checkGroup(m.Group); err != nil {
		err.field = "group"
		return err
	}
	if m.Ifindex <= 0 {
		return bad(g.mreq, "ifindex", "group %s has ifindex %d; a membership names its interface", m.Group, m.Ifindex)
	}
	if m.Mode != ModeExclude && m.Mode != ModeInclude {
		return bad(g.msfMode, "mode", "mode %d is neither MCAST_EXCLUDE (0) nor MCAST_INCLUDE (1)", m.Mode)
	}
	if m.Mode == ModeInclude && len(m.Sources) == 0 {
		return bad(g.filter, "sources", "group %s: INCLUDE with no sources is no membership", m.Group)
	}
	if len(m.Sources) > MaxSources {
		return bad(g.filter, "sources", "%d sources for %s, more than an image holds (%d)", len(m.Sources), m.Group, MaxSources)
	}
	for i, s := range m.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		if !unicastOf(g, s) {
			return bad(g.msfSource, field, "source %s is not a unicast %s address", s, ipName(g))
		}
		if slices.Contains(m.Sources[:i], s) {
			return bad(g.msfSource, field, "source %s is listed twice", s)
		}
	}
	return nil
}

// unicastOf reports whether s is a unicast address of the list's family
// (no zone, not v4-mapped for IPv6).
func unicastOf(g *groupList, s netip.Addr) bool {
	if s.IsMulticast() || s.IsUnspecified() || s.Zone() != "" {
		return false
	}
	if g.v6 {
		return s.Is6() && !s.Is4In6()
	}
	return s.Is4() && s != broadcast
}

func ipName(g *groupList) string {
	if g.v6 {
		return "IPv6"
	}
	return "IPv4"
}

// CheckGroup judges a membership's group: an IPv4 or IPv6 multicast
// address. The error is an *AttrError naming IPOPT_MREQ or IP6OPT_MREQ.
func CheckGroup(g netip.Addr) error {
	if err := checkGroup(g); err != nil {
		return err
	}
	return nil
}

func checkGroup(g netip.Addr) *AttrError {
	l := listOf(g)
	ok := g.IsMulticast() && g.Zone() == "" && (!l.v6 || !g.Is4In6())
	if !ok {
		return &AttrError{Attr: AttrName(l.mreq), Reason: fmt.Sprintf("group %s is not an %s multicast address", g, ipName(l))}
	}
	return nil
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// TCP states as sock_diag reports them.
const (
	StateEstablished = 1
	StateClose       = 7
	StateListen      = 10
)
