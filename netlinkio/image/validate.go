package image

import (
	"fmt"
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
	for i := range Options {
		o := &Options[i]
		v, ok := img.Values[o.Attr]
		if !o.Types.Has(img.Type) {
			if ok && (v.Num != 0 || v.Bytes != nil) {
				return AttrErrorf(o.Attr, "does not apply to %s sockets", TypeName(img.Type))
			}
			continue
		}
		if !ok && !o.Kind.IsFlag() {
			return AttrErrorf(o.Attr, "missing")
		}
		if err := o.Check(v); err != nil {
			return err
		}
	}
	if err := img.validateMemberships(); err != nil {
		return err
	}
	return img.validateSize()
}

// validateSize refuses an image built in memory that encodes to more than
// MaxImageSize bytes, which Decode would refuse. Only an image with long
// lists can come near, so only such an image is encoded to be measured.
func (img *Image) validateSize() error {
	n := 0
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

// validateMemberships checks the list as a whole, for images that were not
// decoded (built from JSON or in memory).
func (img *Image) validateMemberships() error {
	if !MembershipApplies(img.Type) && len(img.Memberships) > 0 {
		return AttrErrorf(AttrMembership, "does not apply to %s sockets", TypeName(img.Type))
	}
	if len(img.Memberships) > MaxMemberships {
		return AttrErrorf(AttrMembership, "%d memberships, more than an image holds (%d)", len(img.Memberships), MaxMemberships)
	}
	seen := map[MembershipKey]bool{}
	for _, m := range img.Memberships {
		if m.Address.IsValid() && !m.Address.Is4() {
			return AttrErrorf(AttrMreq, "group %s: imr_address %s is not an IPv4 address", m.Group, m.Address)
		}
		if !m.Group.Is4() || !m.Group.IsMulticast() {
			return AttrErrorf(AttrMreq, "group %s is not an IPv4 multicast address", m.Group)
		}
		if m.Ifindex <= 0 {
			return AttrErrorf(AttrMreq, "group %s has ifindex %d; a membership names its interface", m.Group, m.Ifindex)
		}
		if seen[m.Key()] {
			return AttrErrorf(AttrMreq, "group %s on ifindex %d is listed twice", m.Group, m.Ifindex)
		}
		seen[m.Key()] = true
		if m.Mode != ModeExclude && m.Mode != ModeInclude {
			return AttrErrorf(AttrMsfMode, "mode %d is neither MCAST_EXCLUDE (0) nor MCAST_INCLUDE (1)", m.Mode)
		}
		if m.Mode == ModeInclude && len(m.Sources) == 0 {
			return AttrErrorf(AttrSourceFilter, "group %s: INCLUDE with no sources is no membership", m.Group)
		}
		if len(m.Sources) > MaxSources {
			return AttrErrorf(AttrSourceFilter, "%d sources for %s, more than an image holds (%d)", len(m.Sources), m.Group, MaxSources)
		}
		for i, s := range m.Sources {
			if !s.Is4() || s.IsMulticast() || s.IsUnspecified() || s == broadcast {
				return AttrErrorf(AttrMsfSource, "source %s is not a unicast IPv4 address", s)
			}
			if slices.Contains(m.Sources[:i], s) {
				return AttrErrorf(AttrMsfSource, "source %s is listed twice", s)
			}
		}
	}
	return nil
}

// TCP states as sock_diag reports them.
const (
	StateEstablished = 1
	StateClose       = 7
	StateListen      = 10
)
