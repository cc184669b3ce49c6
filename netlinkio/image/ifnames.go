package image

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"syscall"
)

// Interface names (range 90-99 of docs/image-format.md): an ifindex means
// nothing in another network namespace or after a reboot, so an image
// carries, beside the indexes it holds (memberships and their filters,
// IPOPT_UNICAST_IF), the name each had in the dumped socket's namespace.
// A restore looks every name up in the target socket's own namespace and
// uses the index it has there; a name that is not there is refused,
// naming it. An index without a name (an image of revision 1, or an
// interface gone before the dump read its name) is taken as it is.
const (
	// AttrIfnames (nested) lists one AttrIfname per named index, in
	// ascending ifindex.
	AttrIfnames uint16 = 90
	// AttrIfname is a u32 ifindex (host order) followed by the
	// interface's name, 1-15 bytes without a NUL.
	AttrIfname uint16 = 91
)

// ifnamesSince is the table revision that added interface names.
const ifnamesSince = 2

// Ifindexes returns the interface indexes the image holds, ascending and
// each once: those of its memberships and of the rows that hold one
// (IPOPT_UNICAST_IF, IPOPT_MULTICAST_IFINDEX) when set.
func (img *Image) Ifindexes() []int32 {
	var out []int32
	for _, m := range img.Memberships {
		out = append(out, m.Ifindex)
	}
	for _, o := range ifindexRows() {
		if img.Knows(o) {
			if v := img.Values[o.Attr]; v.Num != 0 {
				out = append(out, int32(v.Num))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ifindexRows are the rows whose value is an ifindex.
func ifindexRows() []*Option {
	var out []*Option
	for i := range Options {
		if k := Options[i].Kind; k == IfIndexBE || k == McastIfIndex {
			out = append(out, &Options[i])
		}
	}
	return out
}

// named returns the (ifindex, name) pairs an encoding carries: one per
// index the image holds that Ifnames names, ascending.
func (img *Image) named() []int32 {
	if img.Rev() < ifnamesSince || len(img.Ifnames) == 0 {
		return nil
	}
	var out []int32
	for _, i := range img.Ifindexes() {
		if img.Ifnames[i] != "" {
			out = append(out, i)
		}
	}
	return out
}

// appendIfnames appends AttrIfnames, when the image names an index.
func (img *Image) appendIfnames(b []byte) []byte {
	idx := img.named()
	if len(idx) == 0 {
		return b
	}
	b, at := beginNested(b, AttrIfnames)
	for _, i := range idx {
		name := img.Ifnames[i]
		b = AppendAttr(b, AttrIfname, append(native.AppendUint32(nil, uint32(i)), name...))
	}
	return endNested(b, at)
}

// decodeIfnames reads AttrIfnames strictly: entries in ascending index,
// each an index the image holds, each named validly, the list not empty
// and not in an image of a revision before interface names.
func decodeIfnames(img *Image, seen map[uint16]Attr) error {
	a, ok := seen[AttrIfnames]
	if !ok {
		return nil
	}
	if img.Rev() < ifnamesSince {
		return AttrErrorf(AttrIfnames, "added in table revision %d, but the image is of revision %d", ifnamesSince, img.Rev())
	}
	attrs, err := ParseAttrs(a.Data, AttrName(AttrIfnames))
	if err != nil {
		return err
	}
	if len(attrs) == 0 {
		return AttrErrorf(AttrIfnames, "empty; an image without names leaves it out")
	}
	held := img.Ifindexes()
	img.Ifnames = make(map[int32]string, len(attrs))
	last := int32(0)
	for _, e := range attrs {
		if e.Type != AttrIfname || e.Nested {
			return AttrErrorf(AttrIfnames, "holds %s; only IFNAME entries", AttrName(e.Type))
		}
		if len(e.Data) < 5 || len(e.Data) > 4+15 {
			return AttrErrorf(AttrIfname, "length %d, want a 4-byte ifindex and a name of 1-15 bytes", len(e.Data))
		}
		i := int32(native.Uint32(e.Data))
		name := e.Data[4:]
		if i <= last {
			return AttrErrorf(AttrIfname, "ifindex %d after %d: entries come in ascending ifindex, each once", i, last)
		}
		if _, ok := slices.BinarySearch(held, i); !ok {
			return AttrErrorf(AttrIfname, "names ifindex %d, which the image does not hold", i)
		}
		if !validIfName(name) {
			return AttrErrorf(AttrIfname, "interface name %q: only printable ASCII without slash, colon or space", name)
		}
		img.Ifnames[i], last = string(name), i
	}
	return nil
}

// validateIfnames checks the names of an image built in memory: each a
// valid interface name. Names of indexes the image does not hold are
// left out of its encoding, so an edit that drops a membership need not
// drop its name too.
func (img *Image) validateIfnames() error {
	for _, i := range slices.Sorted(maps.Keys(img.Ifnames)) {
		name := img.Ifnames[i]
		if len(name) == 0 || len(name) > 15 || !validIfName([]byte(name)) {
			return AttrErrorf(AttrIfname, "interface name %q of ifindex %d: 1-15 printable ASCII bytes without slash, colon or space", name, i)
		}
	}
	return nil
}

// Interface is an interface of a network namespace.
type Interface struct {
	Index int32
	Name  string
}

// MissingInterfaceError is an image's interface name that the target
// socket's network namespace has no interface of.
type MissingInterfaceError struct {
	Name    string
	Ifindex int32 // the index it had where the image was made
	Where   string
}

func (e *MissingInterfaceError) Error() string {
	return fmt.Sprintf("%s: no interface %q (ifindex %d where the image was made) in the socket's network namespace %s", AttrName(AttrIfname), e.Name, e.Ifindex, e.Where)
}

// Rebase returns the image with every named index replaced by the index
// that its name has in the target's namespace (index looks a name up, and
// answers ok=false when there is none), and Ifnames keyed by the new
// indexes. The image is left as it is; an image that names nothing is
// returned itself.
func (img *Image) Rebase(index func(name string) (int32, bool), where string) (*Image, error) {
	idx := img.named()
	if len(idx) == 0 {
		return img, nil
	}
	to := make(map[int32]int32, len(idx))
	for _, i := range idx {
		n, ok := index(img.Ifnames[i])
		if !ok {
			return nil, &MissingInterfaceError{Name: img.Ifnames[i], Ifindex: i, Where: where}
		}
		to[i] = n
	}
	c := img.Clone()
	c.Ifnames = make(map[int32]string, len(idx))
	for _, i := range idx {
		c.Ifnames[to[i]] = img.Ifnames[i]
	}
	move := func(i int32) int32 {
		if n, ok := to[i]; ok {
			return n
		}
		return i
	}
	for k := range c.Memberships {
		c.Memberships[k].Ifindex = move(c.Memberships[k].Ifindex)
	}
	for _, o := range ifindexRows() {
		if v, ok := c.Values[o.Attr]; ok && v.Num != 0 {
			v.Num = uint64(uint32(move(int32(v.Num))))
			c.Values[o.Attr] = v
		}
	}
	c.Canonicalize()
	return c, nil
}

// ifnamesJSON is the "interfaces" object of the JSON form: each named
// index, ascending, as a decimal key, its name the value.
func ifnamesJSON(names map[int32]string, idx []int32) []byte {
	b := []byte{'{'}
	for k, i := range idx {
		if k > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(append(strconv.AppendQuote(b, strconv.Itoa(int(i))), ':'), names[i])
	}
	return append(b, '}')
}

// decodeIfnamesJSON reads "interfaces" as the binary form's IFNAMES is
// read: only indexes the image holds, from an image of a revision that
// has names.
func decodeIfnamesJSON(img *Image, raw []byte) error {
	kvs, err := jsonObject(raw, "interfaces")
	if err != nil {
		return err
	}
	if img.Rev() < ifnamesSince {
		return &AttrError{Attr: "interfaces", Reason: fmt.Sprintf("added in table revision %d, but the image is of revision %d", ifnamesSince, img.Rev())}
	}
	held := img.Ifindexes()
	img.Ifnames = make(map[int32]string, len(kvs))
	for _, kv := range kvs {
		field := "interfaces." + kv.key
		i, err := strconv.ParseInt(kv.key, 10, 32)
		if err != nil || i <= 0 || strconv.Itoa(int(i)) != kv.key {
			return &AttrError{Attr: field, Reason: "the key is not an interface index (1-2147483647)"}
		}
		if _, ok := slices.BinarySearch(held, int32(i)); !ok {
			return &AttrError{Attr: field, Reason: fmt.Sprintf("names ifindex %d, which the image does not hold", i)}
		}
		var name string
		if err := strictUnmarshal(kv.val, &name); err != nil || name == "" || len(name) > 15 || !validIfName([]byte(name)) {
			return &AttrError{Attr: field, Reason: fmt.Sprintf("%s is not an interface name (1-15 printable ASCII bytes without slash, colon or space)", kv.val)}
		}
		if _, dup := img.Ifnames[int32(i)]; dup {
			return &AttrError{Attr: field, Reason: "repeated"}
		}
		img.Ifnames[int32(i)] = name
	}
	return nil
}

// Unwrap makes the error ENODEV ("No such device"), as a join on an
// interface that does not exist is.
func (e *MissingInterfaceError) Unwrap() error { return syscall.ENODEV }
