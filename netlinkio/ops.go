package netlinkio

import (
	"fmt"
	"github.com/inetcr/inetcr/netlinkio/image"
	"net/netip"
	"slices"
	"syscall"
)

// The tree's option and membership files change one thing at a time. Each
// change is a dump, an edit and a restore, so it goes through the same
// validation and rollback as a whole image and works on either backend.

// SetOption sets one option of a live socket from its text form. A value
// that does not parse, or a row that does not apply to the socket's type,
// changes nothing.
func SetOption(b Backend, inode uint64, o *image.Option, text string, guards ...Guard) error {
	v, err := o.Parse(text)
	if err != nil {
		return &image.OpError{Op: "set " + o.Path(), Inode: inode, Err: err}
	}
	return edit(b, "set "+o.Path(), inode, guards, func(img *image.Image) error {
		if !o.Types.Has(img.Type) {
			return &image.AttrError{Attr: o.Path(), Reason: "does not apply to " + image.TypeName(img.Type) + " sockets"}
		}
		img.Values[o.Attr] = v
		return nil
	})
}

// Join adds a membership (idempotent: joining a group the socket has
// already joined changes nothing).
func Join(b Backend, inode uint64, m image.Membership, guards ...Guard) error {
	return edit(b, "join "+m.Group.String(), inode, guards, func(img *image.Image) error {
		if !image.MembershipApplies(img.Type) {
			return &image.AttrError{Attr: "membership", Reason: image.TypeName(img.Type) + " sockets have no memberships"}
		}
		if _, ok := img.Membership(m.Key()); !ok {
			img.Memberships = append(img.Memberships, m)
		}
		return nil
	})
}

// Leave drops a membership; leaving a group the socket is not in fails
// with EADDRNOTAVAIL (errNotMember), the group named, and changes nothing.
func Leave(b Backend, inode uint64, k image.MembershipKey, guards ...Guard) error {
	return edit(b, "leave "+k.Group.String(), inode, guards, func(img *image.Image) error {
		for i, m := range img.Memberships {
			if m.Key() == k {
				img.Memberships = append(img.Memberships[:i], img.Memberships[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("group %s on ifindex %d: %w", k.Group, k.Ifindex, errNotMember)
	})
}

// SetFilter sets the source filter of a membership the socket has: mode
// (ModeInclude or ModeExclude) and sources. A socket that is not a member
// fails as Leave does.
func SetFilter(b Backend, inode uint64, k image.MembershipKey, mode uint32, sources []netip.Addr, guards ...Guard) error {
	return edit(b, "set source filter of "+k.Group.String(), inode, guards, func(img *image.Image) error {
		for i := range img.Memberships {
			if img.Memberships[i].Key() == k {
				img.Memberships[i].Mode = mode
				img.Memberships[i].Sources = slices.Clone(sources)
				return nil
			}
		}
		return fmt.Errorf("group %s on ifindex %d: %w", k.Group, k.Ifindex, errNotMember)
	})
}

// Guard vets a change before it is made: it sees the socket's image as it
// is and as it would be, and returns an error to refuse. Caller.Allow is
// one; the tree's change log is another.
type Guard func(before, want *image.Image) error

func edit(b Backend, op string, inode uint64, guards []Guard, change func(*image.Image) error) error {
	before, err := b.Dump(inode)
	if err != nil {
		return err
	}
	want := before.Clone()
	if err := change(want); err != nil {
		return &image.OpError{Op: op, Inode: inode, Err: err}
	}
	return restoreGuarded(b, op, inode, before, want, guards)
}

// RestoreGuarded restores a whole image after the guards have passed it.
func RestoreGuarded(b Backend, inode uint64, want *image.Image, guards ...Guard) error {
	if len(guards) == 0 {
		return b.Restore(inode, want)
	}
	if err := want.Validate(); err != nil {
		return &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	before, err := b.Dump(inode)
	if err != nil {
		return err
	}
	return restoreGuarded(b, "restore", inode, before, want, guards)
}

func restoreGuarded(b Backend, op string, inode uint64, before, want *image.Image, guards []Guard) error {
	for _, g := range guards {
		if err := g(before, want); err != nil {
			return &image.OpError{Op: op, Inode: inode, Err: err}
		}
	}
	return b.Restore(inode, want)
}

// errNotMember is why leaving a group the socket is not in fails.
var errNotMember = syscall.EADDRNOTAVAIL
