package netlinkio

import (
	"fmt"
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
func SetOption(b Backend, inode uint64, o *Option, text string, guards ...Guard) error {
	v, err := o.Parse(text)
	if err != nil {
		return &OpError{Op: "set " + o.Path(), Inode: inode, Err: err}
	}
	return edit(b, "set "+o.Path(), inode, guards, func(img *Image) error {
		if !o.Types.Has(img.Type) {
			return &AttrError{Attr: o.Path(), Reason: "does not apply to " + typeName(img.Type) + " sockets"}
		}
		img.Values[o.Attr] = v
		return nil
	})
}

// Join adds a membership (idempotent: joining a group the socket has
// already joined changes nothing).
func Join(b Backend, inode uint64, m Membership, guards ...Guard) error {
	return edit(b, "join "+m.Group.String(), inode, guards, func(img *Image) error {
		if !membershipApplies(img.Type) {
			return &AttrError{Attr: "membership", Reason: typeName(img.Type) + " sockets have no memberships"}
		}
		if _, ok := img.Membership(m.Key()); !ok {
			img.Memberships = append(img.Memberships, m)
		}
		return nil
	})
}

// Leave drops a membership; leaving a group the socket is not in fails
// with EADDRNOTAVAIL (errNotMember), the group named, and changes nothing.
func Leave(b Backend, inode uint64, k MembershipKey, guards ...Guard) error {
	return edit(b, "leave "+k.Group.String(), inode, guards, func(img *Image) error {
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
func SetFilter(b Backend, inode uint64, k MembershipKey, mode uint32, sources []netip.Addr, guards ...Guard) error {
	return edit(b, "set source filter of "+k.Group.String(), inode, guards, func(img *Image) error {
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
type Guard func(before, want *Image) error

func edit(b Backend, op string, inode uint64, guards []Guard, change func(*Image) error) error {
	before, err := b.Dump(inode)
	if err != nil {
		return err
	}
	want := before.Clone()
	if err := change(want); err != nil {
		return &OpError{Op: op, Inode: inode, Err: err}
	}
	return restoreGuarded(b, op, inode, before, want, guards)
}

// RestoreGuarded restores a whole image after the guards have passed it.
func RestoreGuarded(b Backend, inode uint64, want *Image, guards ...Guard) error {
	if len(guards) == 0 {
		return b.Restore(inode, want)
	}
	if err := want.Validate(); err != nil {
		return &OpError{Op: "restore", Inode: inode, Err: err}
	}
	before, err := b.Dump(inode)
	if err != nil {
		return err
	}
	return restoreGuarded(b, "restore", inode, before, want, guards)
}

func restoreGuarded(b Backend, op string, inode uint64, before, want *Image, guards []Guard) error {
	for _, g := range guards {
		if err := g(before, want); err != nil {
			return &OpError{Op: op, Inode: inode, Err: err}
		}
	}
	return b.Restore(inode, want)
}

// errNotMember is why leaving a group the socket is not in fails.
var errNotMember = syscall.EADDRNOTAVAIL
