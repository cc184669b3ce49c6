package netlinkio

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/creds"
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// The tree changes one thing at a time: an option, a membership, a
// filter, or the whole image. Each change is one Update of a socket the
// backend holds: one read, the edit applied to that read, and exactly the
// steps between the two, so that what the socket's owner changes meanwhile
// elsewhere is never put back, and the guards judge the very plan that runs.

// Target is a socket taken for changes (Backend.Hold), named by its inode
// for messages.
type Target struct {
	Inode uint64
	held  held.Socket
}

// Take holds the socket for changes; the caller must Close the Target.
func Take(b Backend, inode uint64) (*Target, error) {
	h, err := b.Hold(inode)
	if err != nil {
		return nil, err
	}
	return &Target{Inode: inode, held: h}, nil
}

// Close lets the socket go.
func (t *Target) Close() error { return t.held.Close() }

// update runs edit as one Update on behalf of who (nil: this process).
func (t *Target) update(op string, who *Caller, edit func(*image.Image) error, guards []held.Guard) error {
	var c *creds.Creds
	if who != nil {
		c = &who.Creds
	}
	err := t.held.Update(c, func(img *image.Image) (*image.Image, error) {
		if err := edit(img); err != nil {
			return nil, &image.OpError{Op: op, Inode: t.Inode, Err: err}
		}
		return img, nil
	}, guards...)
	return err
}

// SetOption sets one option from its text form. A value that does not
// parse, or a row that does not apply to the socket's type, changes
// nothing; a value the socket already has changes nothing either.
func (t *Target) SetOption(who *Caller, o *image.Option, text string, guards ...held.Guard) error {
	v, err := o.Parse(text)
	if err != nil {
		return &image.OpError{Op: "set " + o.Path(), Inode: t.Inode, Err: err}
	}
	return t.update("set "+o.Path(), who, func(img *image.Image) error {
		if !o.Types.Has(img.Family, img.Type) {
			return image.NotApplicable(o.Path(), img.Family, img.Type)
		}
		if o.KernelsOwn(v) && !img.Values[o.Attr].Equal(v) {
			// A restore leaves such a value; a write that asks for it
			// asks for what nobody can set.
			return &image.AttrError{Attr: o.Path(), Reason: o.Format(v) + " is a value only the kernel sets (below " + strconv.Itoa(image.MinMSS) + ": the MSS in use)"}
		}
		img.Set(o, v) // a value the socket has changes nothing
		return nil
	}, guards)
}

// Join adds a membership (idempotent: joining a group the socket has
// already joined changes nothing).
func (t *Target) Join(who *Caller, m image.Membership, guards ...held.Guard) error {
	return t.update("join "+m.Group.String(), who, func(img *image.Image) error {
		if !image.GroupApplies(img.Family, img.Type, m.Group) {
			return image.NotApplicable("membership "+m.Group.String(), img.Family, img.Type)
		}
		if _, ok := img.Membership(m.Key()); !ok {
			img.Memberships = append(img.Memberships, m)
		}
		return nil
	}, guards)
}

// Leave drops a membership; leaving a group the socket is not in fails
// with EADDRNOTAVAIL (errNotMember), the group named, and changes nothing.
func (t *Target) Leave(who *Caller, k image.MembershipKey, guards ...held.Guard) error {
	return t.update("leave "+k.Group.String(), who, func(img *image.Image) error {
		for i, m := range img.Memberships {
			if m.Key() == k {
				img.Memberships = slices.Delete(img.Memberships, i, i+1)
				return nil
			}
		}
		return fmt.Errorf("group %s on ifindex %d: %w", k.Group, k.Ifindex, errNotMember)
	}, guards)
}

// SetFilter sets the source filter of a membership the socket has: mode
// (ModeInclude or ModeExclude) and sources. A socket that is not a member
// fails as Leave does.
func (t *Target) SetFilter(who *Caller, k image.MembershipKey, mode uint32, sources []netip.Addr, guards ...held.Guard) error {
	return t.update("set source filter of "+k.Group.String(), who, func(img *image.Image) error {
		for i := range img.Memberships {
			if img.Memberships[i].Key() == k {
				img.Memberships[i].Mode = mode
				img.Memberships[i].Sources = slices.Clone(sources)
				return nil
			}
		}
		return fmt.Errorf("group %s on ifindex %d: %w", k.Group, k.Ifindex, errNotMember)
	}, guards)
}

// Restore makes the socket's state the image's, changing only what
// differs.
func (t *Target) Restore(who *Caller, want *image.Image, guards ...held.Guard) error {
	if err := want.Validate(); err != nil {
		return &image.OpError{Op: "restore", Inode: t.Inode, Err: err}
	}
	return t.update("restore", who, func(img *image.Image) error {
		*img = *want.Clone()
		return nil
	}, guards)
}

// errNotMember is why leaving a group the socket is not in fails.
var errNotMember = syscall.EADDRNOTAVAIL
