package netlinkio

import (
	"maps"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"
)

const (
	nlaFNested    = 0x8000
	nlaFByteOrder = 0x4000
	nlaTypeMask   = ^uint16(nlaFNested | nlaFByteOrder)
	nlaHdrLen     = 4
)

func nlaAlign(n int) int { return (n + 3) &^ 3 }

// appendAttr appends one netlink attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, payload []byte) []byte {
	b = native.AppendUint16(b, uint16(nlaHdrLen+len(payload)))
	b = native.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// Encode returns the image as the v1 attribute stream, in canonical order:
// two sockets in the same state give byte-identical images.
func (img *Image) Encode() []byte {
	c := img.Clone()
	c.Canonicalize()
	b := appendAttr(nil, AttrVersion, native.AppendUint32(nil, ImageVersion))
	b = appendAttr(b, AttrFamily, native.AppendUint16(nil, c.Family))
	b = appendAttr(b, AttrType, native.AppendUint16(nil, c.Type))
	b = appendAttr(b, AttrProtocol, native.AppendUint16(nil, c.Protocol))
	b = appendAttr(b, AttrState, []byte{c.State})
	b = appendAttr(b, AttrLocal, sockaddrIn(c.Local))
	b = appendAttr(b, AttrPeer, sockaddrIn(c.Peer))
	// Attributes follow in ascending id, which is the table's order.
	parts := map[uint16][]byte{}
	for _, o := range OptionsFor(c.Type) {
		if payload, present := o.Wire(c.Values[o.Attr]); present {
			parts[o.Attr] = appendAttr(nil, o.Attr, payload)
		}
	}
	if membershipApplies(c.Type) {
		var list []byte
		for _, m := range c.Memberships {
			list = appendAttr(list, AttrMreq, mreqn(m))
		}
		parts[AttrMembership] = appendAttr(nil, AttrMembership|nlaFNested, list)
		var filters []byte
		for _, m := range c.Memberships {
			if !m.HasFilter() {
				continue
			}
			e := appendAttr(nil, AttrMsfMreq, mreqn(m))
			e = appendAttr(e, AttrMsfMode, native.AppendUint32(nil, m.Mode))
			for _, s := range m.Sources {
				a := s.As4()
				e = appendAttr(e, AttrMsfSource, a[:])
			}
			filters = appendAttr(filters, AttrSourceFilter|nlaFNested, e)
		}
		if filters != nil {
			parts[AttrSourceFilters] = appendAttr(nil, AttrSourceFilters|nlaFNested, filters)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(parts)) {
		b = append(b, parts[id]...)
	}
	return b
}

// membershipApplies says whether a socket type carries memberships: TCP
// sockets cannot join groups, so their images have no membership list.
func membershipApplies(typ uint16) bool { return typ != unix.SOCK_STREAM }

// sockaddrIn returns a struct sockaddr_in (16 bytes).
func sockaddrIn(ap netip.AddrPort) []byte {
	b := make([]byte, 16)
	native.PutUint16(b, unix.AF_INET)
	b[2], b[3] = byte(ap.Port()>>8), byte(ap.Port())
	a := ap.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	a4 := a.As4()
	copy(b[4:8], a4[:])
	return b
}

// mreqn returns a struct ip_mreqn (12 bytes).
func mreqn(m Membership) []byte {
	b := make([]byte, 12)
	g := m.Group.As4()
	copy(b[0:4], g[:])
	a := m.Address
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	a4 := a.As4()
	copy(b[4:8], a4[:])
	native.PutUint32(b[8:], uint32(m.Ifindex))
	return b
}
