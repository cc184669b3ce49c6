package netlinkio

import (
	"bytes"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// attr is one parsed netlink attribute.
type attr struct {
	typ    uint16 // without flags
	nested bool
	data   []byte
}

// parseAttrs splits b into attributes as the kernel's strict nla_parse
// does: every header whole, every length within bounds, no trailing bytes.
// where names the enclosing attribute for errors.
func parseAttrs(b []byte, where string) ([]attr, error) {
	var out []attr
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
		out = append(out, attr{typ: typ, nested: raw&nlaFNested != 0, data: b[off+nlaHdrLen : off+n]})
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
	attrs, err := parseAttrs(b, "image")
	if err != nil {
		return nil, err
	}
	if attrs[0].typ != AttrVersion {
		return nil, &AttrError{Attr: "VERSION", Reason: fmt.Sprintf("must be the first attribute, found %s", AttrName(attrs[0].typ))}
	}
	seen := map[uint16]attr{}
	for _, a := range attrs {
		if _, dup := seen[a.typ]; dup {
			return nil, attrErr(a.typ, "repeated")
		}
		if err := checkKnownTop(a); err != nil {
			return nil, err
		}
		seen[a.typ] = a
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
	if err := img.Validate(); err != nil {
		return nil, err
	}
	return img, nil
}

// checkKnownTop refuses attribute ids that have no place at the top of an
// image, and nesting flags that do not match the attribute.
func checkKnownTop(a attr) error {
	switch a.typ {
	case AttrVersion, AttrFamily, AttrType, AttrProtocol, AttrState, AttrLocal, AttrPeer:
	case AttrInode:
		return attrErr(a.typ, "belongs in requests, never in an image")
	case AttrMembership, AttrSourceFilters:
		if !a.nested {
			return attrErr(a.typ, "must be nested (NLA_F_NESTED)")
		}
		return nil
	default:
		if _, ok := optionByAttr(a.typ); !ok {
			return &AttrError{Attr: AttrName(a.typ), Reason: "unknown attribute"}
		}
	}
	if a.nested {
		return attrErr(a.typ, "is not a nested attribute")
	}
	return nil
}

func exactLen(a attr, n int) error {
	if len(a.data) != n {
		return attrErr(a.typ, "length %d, want %d", len(a.data), n)
	}
	return nil
}

func decodeHeader(img *Image, seen map[uint16]attr) error {
	if err := exactLen(seen[AttrVersion], 4); err != nil {
		return err
	}
	if v := native.Uint32(seen[AttrVersion].data); v != ImageVersion {
		return attrErr(AttrVersion, "version %d, this reader knows only %d", v, ImageVersion)
	}
	for _, id := range []uint16{AttrFamily, AttrType, AttrProtocol, AttrState, AttrLocal, AttrPeer} {
		if _, ok := seen[id]; !ok {
			return attrErr(id, "missing")
		}
	}
	sizes := []struct {
		id uint16
		n  int
	}{{AttrVersion, 4}, {AttrFamily, 2}, {AttrType, 2}, {AttrProtocol, 2}, {AttrState, 1}, {AttrLocal, 16}, {AttrPeer, 16}}
	for _, sz := range sizes {
		if err := exactLen(seen[sz.id], sz.n); err != nil {
			return err
		}
	}
	img.Family = native.Uint16(seen[AttrFamily].data)
	img.Type = native.Uint16(seen[AttrType].data)
	img.Protocol = native.Uint16(seen[AttrProtocol].data)
	img.State = seen[AttrState].data[0]
	var err error
	if img.Local, err = parseSockaddrIn(seen[AttrLocal]); err != nil {
		return err
	}
	img.Peer, err = parseSockaddrIn(seen[AttrPeer])
	return err
}

func parseSockaddrIn(a attr) (netip.AddrPort, error) {
	if f := native.Uint16(a.data); f != unix.AF_INET {
		return netip.AddrPort{}, attrErr(a.typ, "sin_family %d, want AF_INET (%d)", f, unix.AF_INET)
	}
	for _, z := range a.data[8:] {
		if z != 0 {
			return netip.AddrPort{}, attrErr(a.typ, "sin_zero is not zero")
		}
	}
	port := uint16(a.data[2])<<8 | uint16(a.data[3])
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a.data[4:8])), port), nil
}

// decodeOptions reads every option row of the image's type: flags may be
// absent (off), every other applicable option must be present, and options
// of other socket types must not appear.
func decodeOptions(img *Image, seen map[uint16]attr) error {
	for i := range Options {
		o := &Options[i]
		a, present := seen[o.Attr]
		if !o.Types.Has(img.Type) {
			if present {
				return attrErr(o.Attr, "does not apply to %s sockets", typeName(img.Type))
			}
			continue
		}
		if !present {
			if o.Kind == Flag || o.Kind == BufLock {
				img.Values[o.Attr] = Value{}
				continue
			}
			return attrErr(o.Attr, "missing")
		}
		v, err := o.Unwire(a.data)
		if err != nil {
			return err
		}
		img.Values[o.Attr] = v
	}
	return nil
}

func typeName(typ uint16) string {
	switch typ {
	case unix.SOCK_DGRAM:
		return "SOCK_DGRAM"
	case unix.SOCK_STREAM:
		return "SOCK_STREAM"
	case unix.SOCK_RAW:
		return "SOCK_RAW"
	}
	return fmt.Sprintf("type %d", typ)
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
		return attrErr(AttrVersion, "version %d, this reader knows only %d", native.Uint32(b[nlaHdrLen:n]), ImageVersion)
	}
	return nil
}
