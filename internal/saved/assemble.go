package saved

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// An archive's members are gathered per socket directory (any leading
// directories, then the inode) and checked against each other once the
// whole archive is read.

// assembly gathers the members of one source.
type assembly struct {
	src   string
	order []string // socket directories, as first seen
	socks map[string]*socketFiles
	cur   *socketFiles // the socket of the last member
}

// socketFiles is what one source holds of one socket.
type socketFiles struct {
	dir     string
	ino     uint64
	raw     []byte       // image.bin, validated
	img     *image.Image // raw decoded, while the archive is at this socket
	imgName string       // the member image.bin or <inode>.bin
	info    *Info
	seen    seen              // files, for "appears twice"
	pending map[string]string // option files read before image.bin, by path
	members []memberFile
	memDir  bool // the archive has the membership/ directory
	notes   []string
}

func newAssembly(src string) *assembly {
	return &assembly{src: src, socks: map[string]*socketFiles{}}
}

// place says where a member belongs: its socket directory (or, for a
// dump --all image, the file itself), the inode, and the file below the
// directory ("image.bin", "info", "ipopt/ttl", "membership/G@IF"; "" for
// a dump --all image).
func place(name string) (dir string, ino uint64, file string, ok bool) {
	c := strings.Split(name, "/")
	n := len(c)
	if ino, ok := binInode(c[n-1]); ok {
		return name, ino, "", true
	}
	if n >= 2 && (c[n-1] == "image.bin" || c[n-1] == "info") {
		if ino, ok := inodeName(c[n-2]); ok {
			return strings.Join(c[:n-1], "/"), ino, c[n-1], true
		}
	}
	if n >= 3 && (c[n-2] == "membership" || strings.HasSuffix(c[n-2], "opt")) {
		if ino, ok := inodeName(c[n-3]); ok {
			return strings.Join(c[:n-2], "/"), ino, c[n-2] + "/" + c[n-1], true
		}
	}
	return "", 0, "", false
}

// add takes one member.
func (a *assembly) add(m member) error {
	if m.dir {
		if path.Base(m.name) == "membership" {
			if dir, ino, _, ok := place(m.name + "/x"); ok {
				a.sock(dir, ino).memDir = true
			}
		}
		return nil
	}
	dir, ino, file, ok := place(m.name)
	if !ok {
		return &refusal{source: a.src, member: m.name, reason: "not a file of the tree (INODE/image.bin, INODE/info, INODE/ipopt/NAME, ...) or of dump --all (INODE.bin)"}
	}
	s := a.sock(dir, ino)
	if a.cur != s {
		if a.cur != nil {
			a.cur.img = nil // decoded again if the archive comes back to it
		}
		a.cur = s
	}
	if !s.seen.add(file) {
		return &refusal{source: a.src, member: m.name, reason: "appears twice in the archive"}
	}
	refuse := func(err error) error { return &refusal{source: a.src, member: m.name, reason: err.Error()} }
	switch {
	case file == "" || file == "image.bin":
		img, err := image.Decode(m.data)
		if err != nil {
			return refuse(fmt.Errorf("not an image: %w", err))
		}
		s.raw, s.img, s.imgName = m.data, img, m.name
		for _, p := range slices.Sorted(maps.Keys(s.pending)) {
			s.compareOption(p, s.pending[p])
		}
		s.pending = nil
	case file == "info":
		info, err := parseInfo(string(m.data))
		if err != nil {
			return refuse(err)
		}
		s.info = info
	case strings.HasPrefix(file, "membership/"):
		mf, err := parseMembershipFile(strings.TrimPrefix(file, "membership/"), string(m.data))
		if err != nil {
			return refuse(err)
		}
		s.members = append(s.members, mf)
	default:
		text := string(m.data)
		if s.raw != nil {
			s.compareOption(file, text)
		} else {
			if s.pending == nil {
				s.pending = map[string]string{}
			}
			s.pending[file] = text
		}
	}
	return nil
}

func (a *assembly) sock(dir string, ino uint64) *socketFiles {
	s, ok := a.socks[dir]
	if !ok {
		s = &socketFiles{dir: dir, ino: ino}
		a.socks[dir] = s
		a.order = append(a.order, dir)
	}
	return s
}

// entries turns what was gathered into entries, in the order the
// archive first named each socket.
func (a *assembly) entries() ([]Entry, error) {
	out := make([]Entry, 0, len(a.order))
	for _, dir := range a.order {
		s := a.socks[dir]
		if s.seen.empty() {
			continue // a directory with no file of a socket
		}
		e, err := s.entry(a.src)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// entry checks a socket's files against each other.
func (s *socketFiles) entry(src string) (Entry, error) {
	e := Entry{Source: src + ": " + s.dir, Inode: s.ino, Info: s.info}
	if s.imgName != s.dir { // a socket directory, not a dump --all file
		e.Source += "/"
	}
	if s.raw == nil {
		if err := s.overlay(&e); err != nil {
			return e, &refusal{source: src, member: s.dir, reason: err.Error()}
		}
		return e, nil
	}
	img := s.image()
	e.Header, e.image = headerOf(img), s.raw
	s.compareInfo()
	e.IfNames = s.compareMemberships()
	e.Notes = s.notes
	s.img = nil
	return e, nil
}

// note records a disagreement; image.bin is what is restored.
func (s *socketFiles) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// image is the socket's image.bin, decoded (again, if the archive left
// this socket and came back).
func (s *socketFiles) image() *image.Image {
	if s.img == nil {
		s.img, _ = image.Decode(s.raw) // it decoded when it was read
	}
	return s.img
}

// compareOption checks an option file against image.bin.
func (s *socketFiles) compareOption(p, text string) {
	s.image()
	dir, name, _ := strings.Cut(p, "/")
	o, ok := image.LookupOption(dir, name)
	if !ok {
		s.note("%s: not an option this inetcr knows; ignored", p)
		return
	}
	if !o.Types.Has(s.img.Family, s.img.Type) {
		s.note("%s: does not apply to %s sockets; ignored", p, image.TypeName(s.img.Type))
		return
	}
	saved := o.Format(s.img.Values[o.Attr])
	v, err := o.Parse(strings.TrimSuffix(text, "\n"))
	if err != nil {
		s.note("%s: %v; image.bin says %q, which is used", p, err, saved)
		return
	}
	if !v.Equal(s.img.Values[o.Attr]) {
		s.note("%s says %q, image.bin says %q, which is used", p, o.Format(v), saved)
	}
}

// compareInfo checks info's identity against image.bin's.
func (s *socketFiles) compareInfo() {
	i := s.info
	if i == nil {
		return
	}
	img := s.img
	if i.Type != img.Type || i.Protocol != img.Protocol {
		s.note("info says protocol %s, image.bin %s, which is used", image.SocketName(i.Type, i.Protocol), image.SocketName(img.Type, img.Protocol))
	}
	if i.Local != img.Local {
		s.note("info says local %s, image.bin %s, which is used", image.AddrPortString(i.Local), image.AddrPortString(img.Local))
	}
	if i.Peer != img.Peer {
		s.note("info says peer %s, image.bin %s, which is used", image.AddrPortString(i.Peer), image.AddrPortString(img.Peer))
	}
}

// compareMemberships names the image's interfaces from the membership
// files and notes where the two disagree.
func (s *socketFiles) compareMemberships() map[int32]string {
	var names map[int32]string
	if len(s.members) > 0 {
		names = map[int32]string{}
	}
	for _, f := range s.members {
		m, ok := f.find(s.img)
		if !ok {
			s.note("membership/%s is not in image.bin; ignored", f.fileName)
			continue
		}
		if old, ok := names[m.Ifindex]; ok && old != f.IfName {
			s.note("membership/%s names ifindex %d %s, another file %s", f.fileName, m.Ifindex, f.IfName, old)
			continue
		}
		names[m.Ifindex] = f.IfName
		if f.hasFilter && (f.Mode != m.Mode || !sameAddrs(f.Sources, m.Sources)) {
			s.note("membership/%s says mode %s sources %v, image.bin mode %s sources %v, which is used", f.fileName, image.ModeName(f.Mode), f.Sources, image.ModeName(m.Mode), m.Sources)
		}
	}
	if len(s.members) == 0 && !s.memDir {
		return names
	}
	for _, m := range s.img.Memberships {
		if _, ok := names[m.Ifindex]; !ok {
			s.note("image.bin's membership %s on ifindex %d has no membership file; its interface is not known by name", m.Group, m.Ifindex)
		}
	}
	return names
}
