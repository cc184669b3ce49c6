package image

import (
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

// AppendAttr appends one netlink attribute, padded to 4 bytes.
func AppendAttr(b []byte, typ uint16, payload []byte) []byte {
	b = append(appendAttrHeader(b, typ, len(payload)), payload...)
	return append(b, make([]byte, nlaAlign(len(payload))-len(payload))...)
}

// appendAttrHeader appends the header of an attribute of n payload bytes.
func appendAttrHeader(b []byte, typ uint16, n int) []byte {
	b = native.AppendUint16(b, uint16(nlaHdrLen+n))
	return native.AppendUint16(b, typ)
}

// Encode returns the image as the v1 attribute stream, in canonical order:
// two sockets in the same state give byte-identical images.
func (img *Image) Encode() []byte {
	return img.AppendEncode(make([]byte, 0, img.encodedSizeBound()))
}

// AppendEncode appends the image's encoding (as Encode returns it) to dst
// and returns the extended buffer, so that a caller encoding many images
// can reuse one buffer. The image is left unchanged.
func (img *Image) AppendEncode(dst []byte) []byte {
	c := img
	if !img.canonical() {
		// Only a copy may be sorted: the caller's image is not ours to
		// change. Images from a dump are canonical already and skip this.
		c = img.Clone()
		c.Canonicalize()
	}
	b := native.AppendUint32(appendAttrHeader(dst, AttrVersion, 4), ImageVersion)
	b = appendU16Attr(b, AttrFamily, c.Family)
	b = appendU16Attr(b, AttrType, c.Type)
	b = appendU16Attr(b, AttrProtocol, c.Protocol)
	b = append(appendAttrHeader(b, AttrState, 1), c.State, 0, 0, 0)
	b = appendSockaddrIn(appendAttrHeader(b, AttrLocal, 16), c.Local)
	b = appendSockaddrIn(appendAttrHeader(b, AttrPeer, 16), c.Peer)
	// Attributes follow in ascending id. The table is in ascending id, so
	// the attributes that are not rows (the membership list and filters,
	// the order flag, the interface names) are merged into it where their
	// ids fall.
	lists := MembershipApplies(c.Type)
	list, filters := lists, lists && slices.ContainsFunc(c.Memberships, Membership.HasFilter)
	order := lists && c.JoinOrder
	names := true // IFNAMES (90), when the image names an interface
	// A Micros row's Ext attribute (27, 28) follows the rows of lower id.
	var ext []*Option
	rev := c.Rev()
	for _, o := range SharedOptionsFor(c.Type) {
		if o.since() > rev {
			continue
		}
		if list && o.Attr > AttrMembership {
			b, list = c.appendMemberships(b), false
		}
		if filters && o.Attr > AttrSourceFilters {
			b, filters = c.appendFilters(b), false
		}
		for len(ext) > 0 && ext[0].Ext < o.Attr {
			b, ext = ext[0].appendExt(b, c.Values[ext[0].Attr]), ext[1:]
		}
		if o.ExactOnly && !c.Knows(o) {
			continue // unknown to the reader: absent
		}
		if order && o.Attr > AttrMembershipOrder {
			b, order = c.appendOrder(b), false
		}
		if names && o.Attr > AttrIfnames {
			b, names = c.appendIfnames(b), false
		}
		b = o.appendWire(b, c.Values[o.Attr])
		if o.Kind == Micros && c.Values[o.Attr].Num2 != 0 {
			ext = append(ext, o)
		}
	}
	for _, o := range ext {
		b = o.appendExt(b, c.Values[o.Attr])
	}
	if list {
		b = c.appendMemberships(b)
	}
	if filters {
		b = c.appendFilters(b)
	}
	if order {
		b = c.appendOrder(b)
	}
	if names {
		b = c.appendIfnames(b)
	}
	if rev > 1 {
		b = native.AppendUint32(appendAttrHeader(b, AttrTableRevision, 4), rev)
	}
	return b
}

// appendOrder appends IPOPT_MEMBERSHIP_ORDER, the flag that says the
// membership list is in join order.
func (img *Image) appendOrder(b []byte) []byte {
	return appendAttrHeader(b, AttrMembershipOrder, 0)
}

// canonical reports whether the memberships and their sources are already
// in strictly ascending order, so that Canonicalize would leave them as
// they are. Equal neighbours count as not canonical, so such an image takes
// the same sort as before.
func (img *Image) canonical() bool {
	for i, m := range img.Memberships {
		if i > 0 && !img.JoinOrder && compareMemberships(img.Memberships[i-1], m) >= 0 {
			return false
		}
		for j := 1; j < len(m.Sources); j++ {
			if m.Sources[j-1].Compare(m.Sources[j]) >= 0 {
				return false
			}
		}
	}
	return true
}

// encodedSizeBound is at least the length of the image's encoding, so
// that Encode allocates its buffer once.
func (img *Image) encodedSizeBound() int {
	// The header attributes, both lists' headers, and per row at most a
	// header, 8 bytes and its bytes (a row missing from Values is encoded
	// as its zero value).
	n := 6*8 + 2*20 + 2*nlaHdrLen + len(SharedOptionsFor(img.Type))*(nlaHdrLen+8) + 2*(nlaHdrLen+8)
	for _, v := range img.Values {
		n += nlaAlign(len(v.Bytes))
	}
	n += nlaHdrLen + len(img.Ifnames)*(nlaHdrLen+20)
	for _, m := range img.Memberships {
		n += 2*nlaHdrLen + 12 + nlaHdrLen + 12 + nlaHdrLen + 4 + len(m.Sources)*(nlaHdrLen+4)
	}
	return n
}

// appendMemberships appends the nested list of every membership.
func (img *Image) appendMemberships(b []byte) []byte {
	b, at := beginNested(b, AttrMembership)
	for _, m := range img.Memberships {
		b = appendMreqn(appendAttrHeader(b, AttrMreq, 12), m)
	}
	return endNested(b, at)
}

// appendFilters appends the nested list of the filters that differ from
// the default.
func (img *Image) appendFilters(b []byte) []byte {
	b, all := beginNested(b, AttrSourceFilters)
	for _, m := range img.Memberships {
		if !m.HasFilter() {
			continue
		}
		var one int
		b, one = beginNested(b, AttrSourceFilter)
		b = appendMreqn(appendAttrHeader(b, AttrMsfMreq, 12), m)
		b = native.AppendUint32(appendAttrHeader(b, AttrMsfMode, 4), m.Mode)
		for _, s := range m.Sources {
			a := s.As4()
			b = AppendAttr(b, AttrMsfSource, a[:])
		}
		b = endNested(b, one)
	}
	return endNested(b, all)
}

// beginNested appends the header of a nested attribute and returns where
// it starts; endNested writes its length once its contents are appended.
func beginNested(b []byte, typ uint16) ([]byte, int) {
	at := len(b)
	b = native.AppendUint16(b, 0)
	return native.AppendUint16(b, typ|nlaFNested), at
}

func endNested(b []byte, at int) []byte {
	native.PutUint16(b[at:], uint16(len(b)-at))
	return b
}

// MembershipApplies says whether a socket type carries memberships: TCP
// sockets cannot join groups, so their images have no membership list.
func MembershipApplies(typ uint16) bool { return typ != unix.SOCK_STREAM }

// appendU16Attr appends a u16 attribute with its padding.
func appendU16Attr(b []byte, typ, v uint16) []byte {
	return append(native.AppendUint16(appendAttrHeader(b, typ, 2), v), 0, 0)
}

// appendSockaddrIn appends a struct sockaddr_in (16 bytes).
func appendSockaddrIn(b []byte, ap netip.AddrPort) []byte {
	b = native.AppendUint16(b, unix.AF_INET)
	b = append(b, byte(ap.Port()>>8), byte(ap.Port()))
	a := ap.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	a4 := a.As4()
	b = append(b, a4[:]...)
	return append(b, make([]byte, 8)...)
}

// appendMreqn appends a struct ip_mreqn (12 bytes).
func appendMreqn(b []byte, m Membership) []byte {
	g := m.Group.As4()
	b = append(b, g[:]...)
	a := m.Address
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	a4 := a.As4()
	b = append(b, a4[:]...)
	return native.AppendUint32(b, uint32(m.Ifindex))
}
