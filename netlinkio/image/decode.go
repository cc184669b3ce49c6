package image

import (
	"bytes"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Attr is one parsed netlink attribute.
type Attr struct {
	Type   uint16 // without flags
	Nested bool
	Data   []byte
}

// ParseAttrs splits b into attributes as the kernel's strict nla_parse
// does: every header whole, every length within bounds, no trailing bytes.
// where names the enclosing attribute for errors.
func ParseAttrs(b []byte, where string) ([]Attr, error) {
	var out []Attr
	for off := 0; off < len(b); {
		rest := len(b) - off
		if rest < nlaHdrLen {
			return nil, &AttrError{Attr: where, Reason: fmt.Sprintf("%d trailing bytes at offset %d", rest, off)}
		}
		n := int(native.Uint16(b[off:]))
		raw := native.Uint16(b[off+2:])
		typ := raw & nlaTypeMask
		name := AttrName(typ)
		if n < nlaHdrLen {
			return nil, &AttrError{Attr: name, Reason: fmt.Sprintf("length %d at offset %d is shorter than its header", n, off)}
		}
		if n > rest {
			return nil, &AttrError{Attr: name, Reason: fmt.Sprintf("length %d at offset %d runs past the end (%d bytes left)", n, off, rest)}
		}
		if raw&nlaFByteOrder != 0 {
			return nil, &AttrError{Attr: name, Reason: "NLA_F_NET_BYTEORDER is not used by this format"}
		}
		out = append(out, Attr{Type: typ, Nested: raw&nlaFNested != 0, Data: b[off+nlaHdrLen : off+n]})
		next := off + nlaAlign(n)
		if next > len(b) {
			return nil, &AttrError{Attr: name, Reason: fmt.Sprintf("padding missing after offset %d", off+n)}
		}
		// The kernel ignores padding; this reader wants it zero, so that
		// an accepted image is canonical byte for byte.
		for _, p := range b[off+n : next] {
			if p != 0 {
				return nil, &AttrError{Attr: name, Reason: fmt.Sprintf("padding byte at offset %d is not zero", off+n)}
			}
		}
		off = next
	}
	return out, nil
}

// Decode parses and validates an image. Every rejection is an *AttrError
// naming the attribute.
func Decode(b []byte) (*Image, error) {
	if len(b) > MaxImageSize {
		return nil, &AttrError{Attr: "image", Reason: fmt.Sprintf("%d bytes, larger than %d", len(b), MaxImageSize)}
	}
	if len(b) == 0 {
		return nil, &AttrError{Attr: "VERSION", Reason: "image is empty"}
	}
	if err := CheckImageStart(b); err != nil {
		return nil, err
	}
	attrs, err := ParseAttrs(b, "image")
	if err != nil {
		return nil, err
	}
	if attrs[0].Type != AttrVersion {
		return nil, &AttrError{Attr: "VERSION", Reason: fmt.Sprintf("must be the first attribute, found %s", AttrName(attrs[0].Type))}
	}
	seen := map[uint16]Attr{}
	for _, a := range attrs {
		if _, dup := seen[a.Type]; dup {
			return nil, AttrErrorf(a.Type, "repeated")
		}
		if err := checkKnownTop(a); err != nil {
			return nil, err
		}
		seen[a.Type] = a
	}
	img := &Image{Values: map[uint16]Value{}}
	if err := decodeHeader(img, seen); err != nil {
		return nil, err
	}
	// Identity first: which options belong depends on the type.
	if err := img.validateIdentity(); err != nil {
		return nil, err
	}
	if err := decodeOptions(img, seen); err != nil {
		return nil, err
	}
	if err := decodeMemberships(img, seen); err != nil {
		return nil, err
	}
	if err := decodeIfnames(img, seen); err != nil {
		return nil, err
	}
	if err := img.Validate(); err != nil {
		return nil, err
	}
	return img, nil
}

// checkKnownTop refuses attribute ids that have no place at the top of an
// image, and nesting flags that do not match the attribute.
func checkKnownTop(a Attr) error {
	switch a.Type {
	case AttrVersion, AttrFamily, AttrType, AttrProtocol, AttrState, AttrLocal, AttrPeer, AttrTableRevision:
	case AttrInode:
		return AttrErrorf(a.Type, "belongs in requests, never in an image")
	case AttrMembershipOrder, AttrMembershipOrder6:
		if len(a.Data) != 0 {
			return AttrErrorf(a.Type, "length %d; a flag has no payload", len(a.Data))
		}
	case AttrIfnames:
		if !a.Nested {
			return AttrErrorf(a.Type, "must be nested (NLA_F_NESTED)")
		}
		return nil
	default:
		if isGroupAttr(a.Type) {
			if !a.Nested {
				return AttrErrorf(a.Type, "must be nested (NLA_F_NESTED)")
			}
			return nil
		}
		_, row := optionByAttr(a.Type)
		_, ext := optionByExt(a.Type)
		if !row && !ext {
			return &AttrError{Attr: AttrName(a.Type), Reason: "unknown attribute"}
		}
	}
	if a.Nested {
		return AttrErrorf(a.Type, "is not a nested attribute")
	}
	return nil
}

func exactLen(a Attr, n int) error {
	if len(a.Data) != n {
		return AttrErrorf(a.Type, "length %d, want %d", len(a.Data), n)
	}
	return nil
}

func decodeHeader(img *Image, seen map[uint16]Attr) error {
	if err := exactLen(seen[AttrVersion], 4); err != nil {
		return err
	}
	if v := native.Uint32(seen[AttrVersion].Data); v != ImageVersion {
		return AttrErrorf(AttrVersion, "version %d, this reader knows only %d", v, ImageVersion)
	}
	for _, id := range []uint16{AttrFamily, AttrType, AttrProtocol, AttrState, AttrLocal, AttrPeer} {
		if _, ok := seen[id]; !ok {
			return AttrErrorf(id, "missing")
		}
	}
	sizes := []struct {
		id uint16
		n  int
	}{{AttrVersion, 4}, {AttrFamily, 2}, {AttrType, 2}, {AttrProtocol, 2}, {AttrState, 1}}
	for _, sz := range sizes {
		if err := exactLen(seen[sz.id], sz.n); err != nil {
			return err
		}
	}
	img.Family = native.Uint16(seen[AttrFamily].Data)
	img.Type = native.Uint16(seen[AttrType].Data)
	img.Protocol = native.Uint16(seen[AttrProtocol].Data)
	img.State = seen[AttrState].Data[0]
	if err := checkFamily(img.Family); err != nil {
		return err
	}
	var err error
	if img.Local, _, err = parseSockaddr(seen[AttrLocal], img.Family); err != nil {
		return err
	}
	img.Peer, img.Flowinfo, err = parseSockaddr(seen[AttrPeer], img.Family)
	return err
}

// parseSockaddr reads LOCAL or PEER: a struct sockaddr_in for AF_INET, a
// struct sockaddr_in6 for AF_INET6 (its scope id becomes the address's
// zone; LOCAL has no flow information, as getsockname reports none).
func parseSockaddr(a Attr, family uint16) (netip.AddrPort, uint32, error) {
	if family == unix.AF_INET {
		if err := exactLen(a, 16); err != nil {
			return netip.AddrPort{}, 0, err
		}
		ap, err := parseSockaddrIn(a)
		return ap, 0, err
	}
	if err := exactLen(a, 28); err != nil {
		return netip.AddrPort{}, 0, err
	}
	if f := native.Uint16(a.Data); f != unix.AF_INET6 {
		return netip.AddrPort{}, 0, AttrErrorf(a.Type, "sin6_family %d, want AF_INET6 (%d)", f, unix.AF_INET6)
	}
	port := uint16(a.Data[2])<<8 | uint16(a.Data[3])
	flow := uint32(a.Data[4])<<24 | uint32(a.Data[5])<<16 | uint32(a.Data[6])<<8 | uint32(a.Data[7])
	if flow != 0 && a.Type == AttrLocal {
		return netip.AddrPort{}, 0, AttrErrorf(a.Type, "sin6_flowinfo %#x; a local address has none", flow)
	}
	addr := netip.AddrFrom16([16]byte(a.Data[8:24]))
	scope := native.Uint32(a.Data[24:28])
	if scope != 0 && !needsScope(addr) {
		return netip.AddrPort{}, 0, AttrErrorf(a.Type, "sin6_scope_id %d on %s, which has no scope", scope, addr)
	}
	return netip.AddrPortFrom(WithScope(addr, scope), port), flow, nil
}

func parseSockaddrIn(a Attr) (netip.AddrPort, error) {
	if f := native.Uint16(a.Data); f != unix.AF_INET {
		return netip.AddrPort{}, AttrErrorf(a.Type, "sin_family %d, want AF_INET (%d)", f, unix.AF_INET)
	}
	for _, z := range a.Data[8:] {
		if z != 0 {
			return netip.AddrPort{}, AttrErrorf(a.Type, "sin_zero is not zero")
		}
	}
	port := uint16(a.Data[2])<<8 | uint16(a.Data[3])
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a.Data[4:8])), port), nil
}

// decodeOptions reads every option row of the image's type: flags may be
// absent (off), every other applicable option must be present, and options
// of other socket types must not appear.
func decodeOptions(img *Image, seen map[uint16]Attr) error {
	rev := uint32(1)
	if a, ok := seen[AttrTableRevision]; ok {
		if err := exactLen(a, 4); err != nil {
			return err
		}
		rev = native.Uint32(a.Data)
		if rev == 1 {
			return AttrErrorf(AttrTableRevision, "1; an image of revision 1 leaves it out")
		}
		if err := checkRevision(rev); err != nil {
			return err
		}
	}
	if rev != currentRevision {
		img.Revision = rev // 0 stands for the current revision
	}
	for i := range Options {
		o := &Options[i]
		a, present := seen[o.Attr]
		if _, ext := seen[o.Ext]; ext && o.Ext != 0 && !present {
			return AttrErrorf(o.Ext, "without %s", o.AttrName())
		}
		if !o.Types.Has(img.Family, img.Type) {
			if present {
				return NotApplicable(AttrName(o.Attr), img.Family, img.Type)
			}
			continue
		}
		if !img.hasRow(o) {
			if present {
				return newerRow(o, img.Rev())
			}
			continue
		}
		if !present {
			if o.ExactOnly {
				continue // unknown to the reader that made the image
			}
			if o.Kind.IsFlag() {
				img.Values[o.Attr] = Value{}
				continue
			}
			return AttrErrorf(o.Attr, "missing")
		}
		v, err := o.Unwire(a.Data)
		if err != nil {
			return err
		}
		if e, ok := seen[o.Ext]; ok && o.Ext != 0 {
			if err := exactLen(e, 8); err != nil {
				return err
			}
			v.Num2 = native.Uint64(e.Data)
			if v.Num2 == 0 {
				return AttrErrorf(o.Ext, "0 s; a timeout that SOCKOPT's own attribute holds leaves it out")
			}
			if err := o.Check(v); err != nil {
				return err
			}
		}
		img.Values[o.Attr] = v
	}
	return nil
}

// CheckImageStart checks the first bytes of an image, all of it or only
// the first bytes written so far: every image starts with the VERSION
// attribute (nla_len 8, nla_type 1, value ImageVersion), so bytes that do
// not are "not an inetcr image", whatever follows.
func CheckImageStart(b []byte) error {
	want := native.AppendUint32(appendAttrHeader(nil, AttrVersion, 4), ImageVersion)
	n := min(len(b), len(want))
	if h := min(n, nlaHdrLen); !bytes.Equal(b[:h], want[:h]) {
		return &AttrError{Attr: "VERSION", Reason: fmt.Sprintf("must be the first attribute: not an inetcr image (it starts with % x, an image with % x)", b[:n], want)}
	}
	if n == len(want) && !bytes.Equal(b[nlaHdrLen:n], want[nlaHdrLen:]) {
		return AttrErrorf(AttrVersion, "version %d, this reader knows only %d", native.Uint32(b[nlaHdrLen:n]), ImageVersion)
	}
	return nil
}
