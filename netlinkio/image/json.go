package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"
)

// The JSON form of an image is what `inetcr decode --json` prints and
// `inetcr encode` reads (docs/cli.md has the schema):
//
//	{"version":1,"family":"AF_INET","type":"SOCK_DGRAM","protocol":"udp",
//	 "state":"CLOSE","local":"10.0.0.1:5000","peer":"0.0.0.0:0",
//	 "sockopt":{"reuseaddr":"0",...},"ipopt":{"options":"","ttl":"64",...},
//	 "memberships":[{"group":"239.1.2.3","ifindex":2,"address":"0.0.0.0",
//	                 "mode":"exclude","sources":[]}]}
//
// Option values are strings in exactly the text form of the tree's files
// (Option.Format and Option.Parse), so each option has one parser. Reading
// is as strict as Decode: unknown or repeated keys, unknown options, options
// of another socket type and bad values are errors naming the field, and
// the result passes Validate. Writing is canonical (table order, memberships
// sorted), so JSON -> Image -> JSON and Image -> JSON -> Image -> Encode are
// identities.

// MarshalJSON returns the image's JSON form. It refuses an image that does
// not pass Validate, so whatever it writes UnmarshalJSON reads back.
func (img Image) MarshalJSON() ([]byte, error) {
	if err := img.Validate(); err != nil {
		return nil, jsonFieldError(err)
	}
	c := img.Clone()
	c.Canonicalize()
	var b bytes.Buffer
	b.WriteString(`{"version":`)
	b.WriteString(strconv.Itoa(ImageVersion))
	field := func(key string, v any) {
		b.WriteString(`,"` + key + `":`)
		enc, _ := json.Marshal(v) // strings and numbers only: cannot fail
		b.Write(enc)
	}
	if c.Rev() > 1 {
		field("table_revision", c.Rev())
	}
	field("family", familyName(c.Family))
	field("type", TypeName(c.Type))
	field("protocol", ProtocolJSON(c.Protocol))
	field("state", StateName(c.State))
	field("local", AddrPortString(c.Local))
	field("peer", AddrPortString(c.Peer))
	if c.Flowinfo != 0 {
		field("flowinfo", c.Flowinfo)
	}
	for _, dir := range optionDirs {
		if !c.knowsDir(dir) {
			continue // ip6opt on AF_INET, udpopt of a TCP socket, tcpopt of an image from before it
		}
		b.WriteString(`,"` + dir + `":{`)
		n := 0
		for _, o := range SharedOptionsFor(c.Family, c.Type) {
			if o.Dir != dir || !c.Knows(o) {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			k, _ := json.Marshal(o.Name)
			v, _ := json.Marshal(o.Format(c.Values[o.Attr]))
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
	}
	for i := range groupLists {
		if g := &groupLists[i]; *c.joinOrder(g) {
			field(g.orderJSON(), "join")
		}
	}
	if MembershipApplies(c.Family, c.Type) {
		b.WriteString(`,"memberships":[`)
		for i, m := range c.Memberships {
			if i > 0 {
				b.WriteByte(',')
			}
			srcs := make([]string, 0, len(m.Sources))
			for _, s := range m.Sources {
				srcs = append(srcs, s.String())
			}
			addr := m.Address
			if !addr.IsValid() && m.Group.Is4() {
				addr = netip.IPv4Unspecified()
			}
			enc, err := json.Marshal(membershipJSON{
				Group:   m.Group.String(),
				Ifindex: m.Ifindex,
				Address: addrText(addr),
				Mode:    ModeName(m.Mode),
				Sources: srcs,
			})
			if err != nil {
				return nil, err
			}
			b.Write(enc)
		}
		b.WriteByte(']')
	}
	if named := c.named(); len(named) > 0 {
		b.WriteString(`,"interfaces":`)
		b.Write(ifnamesJSON(c.Ifnames, named))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// addrText is an address's text, empty for none (an IPv6 membership's).
func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// membershipJSON is one element of "memberships", in output order. An
// IPv6 membership has no "address".
type membershipJSON struct {
	Group   string   `json:"group"`
	Ifindex int32    `json:"ifindex"`
	Address string   `json:"address,omitempty"`
	Mode    string   `json:"mode"`
	Sources []string `json:"sources"`
}

// UnmarshalJSON reads an image's JSON form, validating it whole; on error
// the image is left as it was.
func (img *Image) UnmarshalJSON(data []byte) error {
	out, err := decodeImageJSONTidy(data)
	if err != nil {
		return err
	}
	*img = *out
	return nil
}

// DecodeJSON reads an image's JSON form (one JSON value, nothing after it).
func DecodeJSON(data []byte) (*Image, error) {
	if len(data) > 16*MaxImageSize {
		return nil, &AttrError{Attr: "json", Reason: fmt.Sprintf("%d bytes is too large for an image", len(data))}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, &AttrError{Attr: "json", Reason: jsonSyntax(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &AttrError{Attr: "json", Reason: "trailing data after the image object"}
	}
	return decodeImageJSONTidy(raw)
}

// decodeImageJSONTidy keeps every error one readable line that names its
// field, whatever the input's keys and values hold.
func decodeImageJSONTidy(data []byte) (*Image, error) {
	img, err := decodeImageJSON(data)
	var ae *AttrError
	if err != nil && errors.As(err, &ae) {
		attr := ae.Attr
		if attr == "" || strings.IndexFunc(attr, notPlain) >= 0 {
			attr = strconv.Quote(attr)
		}
		reason := ae.Reason
		if strings.IndexFunc(reason, unicode.IsControl) >= 0 {
			reason = strings.Trim(strconv.Quote(reason), `"`)
		}
		return nil, &AttrError{Attr: attr, Reason: reason}
	}
	return img, err
}

// notPlain is true for a rune that a field path does not normally hold.
func notPlain(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '[' || r == ']')
}

// jsonKeys are the top-level keys, in output order.
var jsonKeys = slices.Concat([]string{"version", "table_revision", "family", "type", "protocol", "state", "local", "peer", "flowinfo"}, optionDirs, []string{"membership_order", "membership6_order", "memberships", "interfaces"})

func decodeImageJSON(data []byte) (*Image, error) {
	top, err := jsonObject(data, "image")
	if err != nil {
		return nil, err
	}
	for _, kv := range top {
		if !slices.Contains(jsonKeys, kv.key) {
			return nil, &AttrError{Attr: kv.key, Reason: "unknown key (want one of " + strings.Join(jsonKeys, ", ") + ")"}
		}
	}
	get := func(key string) (json.RawMessage, bool) {
		for _, kv := range top {
			if kv.key == key {
				return kv.val, true
			}
		}
		return nil, false
	}
	need := func(key string) (json.RawMessage, error) {
		v, ok := get(key)
		if !ok {
			return nil, &AttrError{Attr: key, Reason: "missing"}
		}
		return v, nil
	}
	img := &Image{Values: map[uint16]Value{}}

	// Identity.
	raw, err := need("version")
	if err != nil {
		return nil, err
	}
	var version json.Number
	if err := strictUnmarshal(raw, &version); err != nil || version.String() != strconv.Itoa(ImageVersion) {
		return nil, &AttrError{Attr: "version", Reason: fmt.Sprintf("%s: this reader knows only version %d", raw, ImageVersion)}
	}
	if raw, ok := get("table_revision"); ok {
		var rev uint32
		if err := strictUnmarshal(raw, &rev); err != nil {
			return nil, &AttrError{Attr: "table_revision", Reason: fmt.Sprintf("%s is not a number", raw)}
		}
		if err := checkRevision(rev); err != nil {
			return nil, Rename(err, "table_revision")
		}
		if rev != currentRevision {
			img.Revision = rev
		}
	} else if currentRevision != 1 {
		img.Revision = 1 // absent: made before the first new rows, as in the binary form
	}
	fam, err := nameOrNumber(top, "family", 0xffff, func(s string) (uint64, bool) {
		for _, f := range []uint16{unix.AF_INET, unix.AF_INET6} {
			if s == FamilyName(f) {
				return uint64(f), true
			}
		}
		return 0, false
	})
	if err != nil {
		return nil, err
	}
	img.Family = uint16(fam)
	if err := checkFamily(img.Family); err != nil {
		return nil, jsonFieldError(err)
	}
	typ, err := nameOrNumber(top, "type", 0xffff, func(s string) (uint64, bool) {
		for _, t := range []uint16{unix.SOCK_DGRAM, unix.SOCK_STREAM, unix.SOCK_RAW} {
			if s == TypeName(t) {
				return uint64(t), true
			}
		}
		return 0, false
	})
	if err != nil {
		return nil, err
	}
	img.Type = uint16(typ)
	proto, err := nameOrNumber(top, "protocol", 255, func(s string) (uint64, bool) {
		for p, name := range protocolNames {
			if s == name {
				return uint64(p), true
			}
		}
		return 0, false
	})
	if err != nil {
		return nil, err
	}
	img.Protocol = uint16(proto)
	state, err := nameOrNumber(top, "state", 255, func(s string) (uint64, bool) {
		for i, name := range stateNames {
			if s == name && name != "" {
				return uint64(i), true
			}
		}
		return 0, false
	})
	if err != nil {
		return nil, err
	}
	img.State = uint8(state)
	for _, f := range []struct {
		key string
		dst *netip.AddrPort
	}{{"local", &img.Local}, {"peer", &img.Peer}} {
		raw, err := need(f.key)
		if err != nil {
			return nil, err
		}
		var s string
		if err := strictUnmarshal(raw, &s); err != nil {
			return nil, &AttrError{Attr: f.key, Reason: fmt.Sprintf("%s is not a string \"ADDRESS:PORT\"", raw)}
		}
		ap, err := netip.ParseAddrPort(s)
		if img.Family == unix.AF_INET && (err != nil || !ap.Addr().Is4()) {
			return nil, &AttrError{Attr: f.key, Reason: fmt.Sprintf("%q is not an IPv4 \"ADDRESS:PORT\"", s)}
		}
		if img.Family == unix.AF_INET6 && (err != nil || !ap.Addr().Is6()) {
			return nil, &AttrError{Attr: f.key, Reason: fmt.Sprintf("%q is not an IPv6 \"[ADDRESS]:PORT\"", s)}
		}
		*f.dst = ap
	}
	if raw, ok := get("flowinfo"); ok {
		var n json.Number
		v, err := uint64(0), strictUnmarshal(raw, &n)
		if err == nil {
			v, err = strconv.ParseUint(n.String(), 10, 32)
		}
		if err != nil || v == 0 || img.Family != unix.AF_INET6 {
			return nil, &AttrError{Attr: "flowinfo", Reason: fmt.Sprintf("%s: PEER's sin6_flowinfo, 1-%d, only on AF_INET6 (left out when 0)", raw, uint32(1<<32-1))}
		}
		img.Flowinfo = uint32(v)
	}
	if !SocketTypes(All).Has(img.Family, img.Type) {
		// Without a known type the option lists cannot be checked;
		// Validate words the refusal.
		return nil, jsonFieldError(img.Validate())
	}

	// Options.
	for _, dir := range optionDirs {
		raw, has := get(dir)
		if !slices.Contains(DirsFor(img.Family, img.Type), dir) {
			if has {
				return nil, NotApplicable(dir, img.Family, img.Type)
			}
			continue
		}
		if !has && !img.knowsDir(dir) {
			continue // tcpopt of an image from before it
		}
		if !has {
			return nil, &AttrError{Attr: dir, Reason: "missing"}
		}
		if err := decodeOptionsJSON(img, dir, raw); err != nil {
			return nil, err
		}
	}

	// Memberships.
	for i := range groupLists {
		g := &groupLists[i]
		raw, ok := get(g.orderJSON())
		if !ok {
			continue
		}
		var order string
		if err := strictUnmarshal(raw, &order); err != nil || order != "join" {
			return nil, &AttrError{Attr: g.orderJSON(), Reason: fmt.Sprintf("%s: the only order a list says is \"join\" (absent: canonical)", raw)}
		}
		if !g.types.Has(img.Family, img.Type) {
			return nil, NotApplicable(g.orderJSON(), img.Family, img.Type)
		}
		*img.joinOrder(g) = true
	}
	raw, has := get("memberships")
	switch {
	case !MembershipApplies(img.Family, img.Type):
		if has {
			return nil, NotApplicable("memberships", img.Family, img.Type)
		}
	case !has:
		return nil, &AttrError{Attr: "memberships", Reason: "missing (an empty list is [])"}
	default:
		if err := decodeMembershipsJSON(img, raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := get("interfaces"); ok {
		if err := decodeIfnamesJSON(img, raw); err != nil {
			return nil, err
		}
	}
	// Validate before sorting, so that an error names the field by its
	// place in the input.
	if err := img.Validate(); err != nil {
		return nil, jsonFieldError(err)
	}
	img.Canonicalize()
	return img, nil
}

// knowsDir reports whether the image knows a row of the directory: only
// then does its JSON form have the directory's object.
func (img *Image) knowsDir(dir string) bool {
	for _, o := range SharedOptionsFor(img.Family, img.Type) {
		if o.Dir == dir && img.Knows(o) {
			return true
		}
	}
	return false
}

func decodeOptionsJSON(img *Image, dir string, raw json.RawMessage) error {
	kvs, err := jsonObject(raw, dir)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, kv := range kvs {
		field := dir + "." + kv.key
		o, ok := LookupOption(dir, kv.key)
		if !ok {
			return &AttrError{Attr: field, Reason: "unknown option"}
		}
		if !o.Types.Has(img.Family, img.Type) {
			return NotApplicable(field, img.Family, img.Type)
		}
		var text string
		if err := strictUnmarshal(kv.val, &text); err != nil {
			return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not a string; values are strings in the text form of the file %s", kv.val, o.Path())}
		}
		v, err := o.Parse(text)
		if err != nil {
			return Rename(err, field)
		}
		img.Values[o.Attr] = v
		set[o.Name] = true
	}
	for _, o := range SharedOptionsFor(img.Family, img.Type) {
		switch {
		case o.Dir != dir:
			continue
		case !img.Knows(o) && set[o.Name]:
			return Rename(newerRow(o, img.Rev()), dir+"."+o.Name)
		case !img.Knows(o) || set[o.Name]:
			continue
		}
		if !o.Kind.IsFlag() {
			return &AttrError{Attr: dir + "." + o.Name, Reason: "missing (only flags may be left out, meaning 0)"}
		}
		img.Values[o.Attr] = Value{}
	}
	return nil
}

var membershipKeys = []string{"group", "ifindex", "address", "mode", "sources"}

func decodeMembershipsJSON(img *Image, raw json.RawMessage) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return &AttrError{Attr: "memberships", Reason: "null; an empty list is []"}
	}
	var list []json.RawMessage
	if err := strictUnmarshal(raw, &list); err != nil {
		return &AttrError{Attr: "memberships", Reason: "is not a list"}
	}
	img.Memberships = []Membership{}
	for i, e := range list {
		at := fmt.Sprintf("memberships[%d]", i)
		kvs, err := jsonObject(e, at)
		if err != nil {
			return err
		}
		m := Membership{Mode: ModeExclude}
		has := map[string]bool{}
		for _, kv := range kvs {
			field := at + "." + kv.key
			has[kv.key] = true
			switch kv.key {
			case "group", "address":
				var s string
				if err := strictUnmarshal(kv.val, &s); err != nil {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not a string", kv.val)}
				}
				a, err := netip.ParseAddr(s)
				if kv.key == "group" && err == nil && a.Is6() {
					m.Group = a // an IPv6 group: its rules are Validate's
					continue
				}
				if err != nil || !a.Is4() {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%q is not a dotted-quad IPv4 address", s)}
				}
				if kv.key == "group" {
					m.Group = a
				} else {
					m.Address = a
				}
			case "ifindex":
				var n json.Number
				if err := strictUnmarshal(kv.val, &n); err != nil {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not a number", kv.val)}
				}
				v, err := strconv.ParseInt(n.String(), 10, 32)
				if err != nil {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not an interface index (1-%d)", n, 1<<31-1)}
				}
				m.Ifindex = int32(v)
			case "mode":
				var s string
				if err := strictUnmarshal(kv.val, &s); err != nil {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not a string", kv.val)}
				}
				mode, ok := ModeByName(s)
				if !ok {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%q is neither \"exclude\" nor \"include\"", s)}
				}
				m.Mode = mode
			case "sources":
				var ss []string
				if err := strictUnmarshal(kv.val, &ss); err != nil || ss == nil {
					return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not a list of addresses", kv.val)}
				}
				for j, s := range ss {
					a, err := netip.ParseAddr(s)
					if err != nil {
						return &AttrError{Attr: fmt.Sprintf("%s[%d]", field, j), Reason: fmt.Sprintf("%q is not an IP address", s)}
					}
					m.Sources = append(m.Sources, a)
				}
			default:
				return &AttrError{Attr: field, Reason: "unknown key (want one of " + strings.Join(membershipKeys, ", ") + ")"}
			}
		}
		for _, k := range []string{"group", "ifindex"} {
			if !has[k] {
				return &AttrError{Attr: at + "." + k, Reason: "missing"}
			}
		}
		if !has["address"] && m.Group.Is4() {
			m.Address = netip.IPv4Unspecified()
		}
		img.Memberships = append(img.Memberships, m)
	}
	return nil // the rules are Validate's, which names the field
}

// keyValue is one member of a JSON object, in document order.
type keyValue struct {
	key string
	val json.RawMessage
}

// jsonObject splits a JSON object into its members, refusing anything that
// is not an object and any key given twice (encoding/json would keep the
// last silently).
func jsonObject(data []byte, where string) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, &AttrError{Attr: where, Reason: jsonSyntax(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &AttrError{Attr: where, Reason: "is not a JSON object"}
	}
	var out []keyValue
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &AttrError{Attr: where, Reason: jsonSyntax(err)}
		}
		key, ok := tok.(string)
		if !ok { // object keys are always strings; a decoder that said otherwise is a syntax error
			return nil, &AttrError{Attr: where, Reason: fmt.Sprintf("key %v is not a string", tok)}
		}
		for _, kv := range out {
			if kv.key == key {
				return nil, &AttrError{Attr: qualify(where, key), Reason: "repeated key"}
			}
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, &AttrError{Attr: qualify(where, key), Reason: jsonSyntax(err)}
		}
		out = append(out, keyValue{key, val})
	}
	if _, err := dec.Token(); err != nil {
		return nil, &AttrError{Attr: where, Reason: jsonSyntax(err)}
	}
	return out, nil
}

func qualify(where, key string) string {
	if where == "image" {
		return key
	}
	return where + "." + key
}

// strictUnmarshal decodes one JSON value of exactly the target's kind: no
// null (encoding/json would leave the target as it was) and numbers kept as
// written.
func strictUnmarshal(raw json.RawMessage, v any) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return errors.New("null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, ok := v.(*json.Number); ok {
		// A json.Number target also takes a quoted number; refuse that.
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '"' {
			return errors.New("quoted number")
		}
	}
	return nil
}

// nameOrNumber reads a top-level field that holds a name (as lookup knows
// them) or a non-negative integer up to max.
func nameOrNumber(top []keyValue, key string, max uint64, lookup func(string) (uint64, bool)) (uint64, error) {
	var raw json.RawMessage
	for _, kv := range top {
		if kv.key == key {
			raw = kv.val
		}
	}
	if raw == nil {
		return 0, &AttrError{Attr: key, Reason: "missing"}
	}
	var s string
	if err := strictUnmarshal(raw, &s); err == nil {
		if v, ok := lookup(s); ok {
			return v, nil
		}
		return 0, &AttrError{Attr: key, Reason: fmt.Sprintf("unknown name %q", s)}
	}
	var n json.Number
	if err := strictUnmarshal(raw, &n); err != nil {
		return 0, &AttrError{Attr: key, Reason: fmt.Sprintf("%s is neither a name nor a number", raw)}
	}
	v, err := strconv.ParseUint(n.String(), 10, 64)
	if err != nil || v > max {
		return 0, &AttrError{Attr: key, Reason: fmt.Sprintf("%s is not an integer in 0-%d", n, max)}
	}
	return v, nil
}

// jsonSyntax words a decoder error without the "json: " prefix.
func jsonSyntax(err error) string {
	if err == io.EOF {
		return "empty input"
	}
	if err == io.ErrUnexpectedEOF {
		return "truncated JSON"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("bad JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonFieldError renames the attribute of a Validate error to the JSON
// field that holds it: PEER -> peer, IPOPT_TTL -> ipopt.ttl.
func jsonFieldError(err error) error {
	var ae *AttrError
	if !errors.As(err, &ae) {
		return err
	}
	field := ae.Attr
	switch ae.Attr {
	case "VERSION", "FAMILY", "TYPE", "PROTOCOL", "STATE", "LOCAL", "PEER":
		field = strings.ToLower(ae.Attr)
	case "IPOPT_MEMBERSHIP", "IPOPT_MREQ", "IPOPT_SOURCE_FILTERS", "IPOPT_SOURCE_FILTER",
		"IPOPT_MSF_MREQ", "IPOPT_MSF_MODE", "IPOPT_MSF_SOURCE",
		"IP6OPT_MEMBERSHIP", "IP6OPT_MREQ", "IP6OPT_SOURCE_FILTERS", "IP6OPT_SOURCE_FILTER",
		"IP6OPT_MSF_MREQ", "IP6OPT_MSF_MODE", "IP6OPT_MSF_SOURCE":
		field = "memberships" + ae.field
	default:
		for i := range Options {
			if Options[i].AttrName() == ae.Attr {
				field = Options[i].Dir + "." + Options[i].Name
			}
		}
	}
	return &AttrError{Attr: field, Reason: ae.Reason}
}
