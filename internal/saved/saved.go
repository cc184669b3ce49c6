// Package saved reads socket state saved before a restart, so that
// inetcr restore --match can put it back onto the sockets a restarted
// program opens: a tar archive of the tree (plain or gzip, as GNU tar
// makes it, any subset of it), a directory that inetcr dump --all wrote,
// an extracted tree, or image files. It makes no system call on sockets.
//
// A source is read whole and checked before anything is returned: a path
// with "..", a link, device or other special member, a member larger than
// any file of the tree, an image.bin that is not an image, a file that is
// not a file of the tree, and a truncated stream are refused with an
// error naming the member, and then nothing is returned at all.
package saved

import (
	"net/netip"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// Entry is one socket's saved state.
type Entry struct {
	// Source names where it came from, for messages: "state.tar:
	// 12345/", "dump/12345.bin", "a.bin".
	Source string
	// Inode is the socket's inode when it was saved; 0 when unknown.
	Inode uint64
	// Header is the saved image's identity; zero without image.bin.
	Header Header
	// image is the saved image, validated, kept encoded (a tenth of the
	// memory of a decoded one, for archives of many sockets); nil when
	// the archive has no image.bin for the socket (then Options and
	// Memberships are what it has).
	image []byte
	// Info is what the socket's info file said; nil without one.
	Info *Info
	// IfNames maps the saved interface indexes to their names, as the
	// membership files (GROUP@IFNAME, "ifindex N") tell them.
	IfNames map[int32]string
	// Options are the option files of a socket without image.bin, by
	// path ("ipopt/ttl"), parsed.
	Options map[string]image.Value
	// Memberships are the membership files of a socket without
	// image.bin, each naming its interface.
	Memberships []NamedMembership
	// Notes are what the archive says that disagrees with image.bin
	// (which is used), or that was left out.
	Notes []string
}

// Header is an image's identity.
type Header struct {
	Family, Type, Protocol uint16
	Local, Peer            netip.AddrPort
}

func headerOf(img *image.Image) Header {
	return Header{Family: img.Family, Type: img.Type, Protocol: img.Protocol, Local: img.Local, Peer: img.Peer}
}

// HasImage reports whether the socket was saved with its image.
func (e *Entry) HasImage() bool { return e.image != nil }

// Image decodes the saved image afresh; it is the caller's to change.
func (e *Entry) Image() (*image.Image, error) { return image.Decode(e.image) }

// NamedMembership is a membership whose interface is known by name only.
type NamedMembership struct {
	image.Membership
	IfName string
}

// Info is what a socket's info file says: identity, owner, holders, and
// where it lived (the namespace and cgroup lines, when the tree that made
// the archive wrote them).
type Info struct {
	Family   uint16
	Type     uint16
	Protocol uint16
	Local    netip.AddrPort
	Peer     netip.AddrPort
	UID      uint32
	Holders  []image.Holder
	// NetnsInode is the network namespace's inode ("netns net:[N]"); 0
	// when the file does not say.
	NetnsInode uint64
	// NetnsName is the namespace's name under /run/netns, when it had one.
	NetnsName string
	// Cgroup is the holder's cgroup ("cgroup /system.slice/x.service").
	Cgroup string
}

// Limits of what a source may hold. No file of the tree comes near them,
// so a member past one is not a file of the tree.
const (
	maxImage = image.MaxImageSize // image.bin, <inode>.bin
	maxInfo  = 64 << 10           // info: a line per holder
	maxSmall = 4 << 10            // an option or membership file
)
