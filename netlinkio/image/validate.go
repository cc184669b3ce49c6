package image

import (
	"fmt"
	"net/netip"
	"slices"

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
		if !o.Types.Has(img.Type) {
			if ok && (v.Num != 0 || v.Bytes != nil) {
				return NotApplicable(AttrName(o.Attr), img.Type)
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
	if img.Family != unix.AF_INET {
		return AttrErrorf(AttrFamily, "family %d, want AF_INET (%d)", img.Family, unix.AF_INET)
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

// validateAddresses checks STATE, LOCAL and PEER together.
func (img *Image) validateAddresses() error {
	if !img.Local.Addr().Is4() {
		return AttrErrorf(AttrLocal, "%s is not an IPv4 address", img.Local)
	}
	if !img.Peer.Addr().Is4() {
		return AttrErrorf(AttrPeer, "%s is not an IPv4 address", img.Peer)
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

// validateMemberships checks the list: each membership by its own rules
// (Membership.Check), then the list as a whole. An error for one
// membership records its index, which the JSON form names
// (memberships[2].sources[1]).
func (img *Image) validateMemberships() error {
	if !MembershipApplies(img.Type) && len(img.Memberships) > 0 {
		return NotApplicable(AttrName(AttrMembership), img.Type)
	}
	if !MembershipApplies(img.Type) && img.JoinOrder {
		return NotApplicable(AttrName(AttrMembershipOrder), img.Type)
	}
	if len(img.Memberships) > MaxMemberships {
		return AttrErrorf(AttrMembership, "%d memberships, more than an image holds (%d)", len(img.Memberships), MaxMemberships)
	}
	seen := make(map[MembershipKey]bool, len(img.Memberships))
	for i, m := range img.Memberships {
		if err := m.check(); err != nil {
			err.field = fmt.Sprintf("[%d].%s", i, err.field)
			return err
		}
		if seen[m.Key()] {
			return &AttrError{Attr: AttrName(AttrMreq), Reason: fmt.Sprintf("group %s on ifindex %d is listed twice", m.Group, m.Ifindex), field: fmt.Sprintf("[%d]", i)}
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
	if m.Address.IsValid() && !m.Address.Is4() {
		return bad(AttrMreq, "address", "group %s: imr_address %s is not an IPv4 address", m.Group, m.Address)
	}
	if err := checkGroup(m.Group); err != nil {
		err.field = "group"
		return err
	}
	if m.Ifindex <= 0 {
		return bad(AttrMreq, "ifindex", "group %s has ifindex %d; a membership names its interface", m.Group, m.Ifindex)
	}
	if m.Mode != ModeExclude && m.Mode != ModeInclude {
		return bad(AttrMsfMode, "mode", "mode %d is neither MCAST_EXCLUDE (0) nor MCAST_INCLUDE (1)", m.Mode)
	}
	if m.Mode == ModeInclude && len(m.Sources) == 0 {
		return bad(AttrSourceFilter, "sources", "group %s: INCLUDE with no sources is no membership", m.Group)
	}
	if len(m.Sources) > MaxSources {
		return bad(AttrSourceFilter, "sources", "%d sources for %s, more than an image holds (%d)", len(m.Sources), m.Group, MaxSources)
	}
	for i, s := range m.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		if !s.Is4() || s.IsMulticast() || s.IsUnspecified() || s == broadcast {
			return bad(AttrMsfSource, field, "source %s is not a unicast IPv4 address", s)
		}
		if slices.Contains(m.Sources[:i], s) {
			return bad(AttrMsfSource, field, "source %s is listed twice", s)
		}
	}
	return nil
}

// CheckGroup judges a membership's group: an IPv4 multicast address. The
// error is an *AttrError naming IPOPT_MREQ.
func CheckGroup(g netip.Addr) error {
	if err := checkGroup(g); err != nil {
		return err
	}
	return nil
}

func checkGroup(g netip.Addr) *AttrError {
	if !g.Is4() || !g.IsMulticast() {
		return &AttrError{Attr: AttrName(AttrMreq), Reason: fmt.Sprintf("group %s is not an IPv4 multicast address", g)}
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
