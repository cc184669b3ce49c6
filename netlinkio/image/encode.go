package image

import (
	"net/netip"
	"strconv"

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
	b = appendSockaddr(b, AttrLocal, c.Family, c.Local, 0)
	b = appendSockaddr(b, AttrPeer, c.Family, c.Peer, c.Flowinfo)
	// Attributes follow in ascending id. The table is in ascending id, so
	// the attributes that are not rows (each membership list, its filters
	// and its order flag, then the interface names) are merged into it
	// where their ids fall: a list's ids ascend (54, 65, 72; 260, 262,
	// 267), and the IPv6 ones are above the IPv4 ones.
	var lists [3 * len(groupLists)]struct {
		id uint16
		g  *groupList
	}
	n := 0
	for i := range groupLists {
		g := &groupLists[i]
		if !g.types.Has(c.Family, c.Type) {
			continue
		}
		for _, id := range [...]uint16{g.list, g.filters, g.order} {
			if id == g.filters && !c.hasFilters(g) || id == g.order && !*c.joinOrder(g) {
				continue
			}
			lists[n].id, lists[n].g = id, g
			n++
		}
	}
	next := 0
	appendList := func(b []byte) []byte {
		l := lists[next]
		next++
		switch l.id {
		case l.g.filters:
			return c.appendFilters(b, l.g)
		case l.g.order:
			return appendAttrHeader(b, l.id, 0) // a flag: no payload
		}
		return c.appendMemberships(b, l.g)
	}
	names := true // IFNAMES (90), when the image names an interface
	// A Micros row's Ext attribute (27, 28) follows the rows of lower id.
	var ext []*Option
	rev := c.Rev()
	for _, o := range SharedOptionsFor(c.Family, c.Type) {
		if o.since() > rev {
			continue
		}
		for next < n && lists[next].id < o.Attr {
			b = appendList(b)
		}
		for len(ext) > 0 && ext[0].Ext < o.Attr {
			b, ext = ext[0].appendExt(b, c.Values[ext[0].Attr]), ext[1:]
		}
		if o.ExactOnly && !c.Knows(o) {
			continue // unknown to the reader: absent
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
	if names {
		b = c.appendIfnames(b)
	}
	for next < n {
		b = appendList(b)
	}
	if rev > 1 {
		b = native.AppendUint32(appendAttrHeader(b, AttrTableRevision, 4), rev)
	}
	return b
}

// canonical reports whether the memberships and their sources are already
// in strictly ascending order, so that Canonicalize would leave them as
// they are. Equal neighbours count as not canonical, so such an image takes
// the same sort as before.
func (img *Image) canonical() bool {
	sorted := !img.JoinOrder && !img.JoinOrder6 // the whole slice, as Canonicalize sorts it
	var last [len(groupLists)]*Membership       // each list's previous membership
	for i := range img.Memberships {
		m := &img.Memberships[i]
		if sorted && i > 0 && compareMemberships(img.Memberships[i-1], *m) >= 0 {
			return false
		}
		l := listIndex(m.Group)
		if p := last[l]; p != nil && !*img.joinOrder(&groupLists[l]) && compareMemberships(*p, *m) >= 0 {
			return false
		}
		last[l] = m
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
	n := 6*8 + 2*32 + 4*nlaHdrLen + len(SharedOptionsFor(img.Family, img.Type))*(nlaHdrLen+8) + 2*(nlaHdrLen+8)
	for _, v := range img.Values {
		n += nlaAlign(len(v.Bytes))
	}
	n += nlaHdrLen + len(img.Ifnames)*(nlaHdrLen+20)
	for _, m := range img.Memberships {
		n += 2*nlaHdrLen + 20 + nlaHdrLen + 20 + nlaHdrLen + 4 + len(m.Sources)*(nlaHdrLen+16)
	}
	return n
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

// appendU16Attr appends a u16 attribute with its padding.
func appendU16Attr(b []byte, typ, v uint16) []byte {
	return append(native.AppendUint16(appendAttrHeader(b, typ, 2), v), 0, 0)
}

// appendSockaddr appends LOCAL or PEER: a struct sockaddr_in (16 bytes)
// for AF_INET, a struct sockaddr_in6 (28 bytes) for AF_INET6, whose scope
// id is the address's zone (an ifindex in decimal) and whose flow
// information is flowinfo.
func appendSockaddr(b []byte, attr, family uint16, ap netip.AddrPort, flowinfo uint32) []byte {
	if family != unix.AF_INET6 {
		return appendSockaddrIn(appendAttrHeader(b, attr, 16), ap)
	}
	b = native.AppendUint16(appendAttrHeader(b, attr, 28), unix.AF_INET6)
	b = append(b, byte(ap.Port()>>8), byte(ap.Port()))
	b = append(b, byte(flowinfo>>24), byte(flowinfo>>16), byte(flowinfo>>8), byte(flowinfo))
	a := ap.Addr()
	if !a.IsValid() {
		a = netip.IPv6Unspecified()
	}
	a16 := a.As16()
	b = append(b, a16[:]...)
	return native.AppendUint32(b, ScopeID(a))
}

// ScopeID is the scope id an address's zone stands for: its ifindex in
// decimal, 0 for none (or a zone that is not a number, which Validate
// refuses).
func ScopeID(a netip.Addr) uint32 {
	n, err := strconv.ParseUint(a.Zone(), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// WithScope is a with the scope id as its zone, when a has a scope (a
// link-local address; the kernel gives no other one a scope id); 0 is no
// zone.
func WithScope(a netip.Addr, scope uint32) netip.Addr {
	if scope == 0 || !needsScope(a) {
		return a.WithZone("")
	}
	return a.WithZone(strconv.FormatUint(uint64(scope), 10))
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
