package held

import (
	"bytes"

	"github.com/inetcr/inetcr/netlinkio/creds"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// ByImage is a Socket for a backend that only dumps and restores whole
// images, as the af_inet_cr family does: Update dumps, edits and restores
// on the client side. The restore applies the wanted image against the
// socket as it finds it then, so a change the socket's owner makes
// between the dump and the restore is put back: a lost update that an
// engine planning from its one read does not have. The restore runs on a
// thread that wears who, so a backend whose restore is a system call made
// in the caller's context (a netlink request the kernel handles in the
// sender's) is judged as who.
func ByImage(inode uint64, dump func() (*image.Image, error), restore func(*image.Image) error) Socket {
	return byImage{inode, dump, restore}
}

type byImage struct {
	inode   uint64
	dump    func() (*image.Image, error)
	restore func(*image.Image) error
}

func (b byImage) Close() error { return nil }

func (b byImage) Update(who *creds.Creds, edit Edit, guards ...Guard) error {
	before, err := b.dump()
	if err != nil {
		return err
	}
	want, err := Want(b.inode, before, edit, guards)
	if err != nil {
		return err
	}
	if bytes.Equal(before.Encode(), want.Encode()) {
		return nil
	}
	if who == nil {
		return b.restore(want)
	}
	return creds.Run(*who, func() error { return b.restore(want) })
}

// Want is the part of Update that every backend shares: the wanted image
// that edit makes from before, validated and in canonical order, and
// passed with before to each guard.
func Want(inode uint64, before *image.Image, edit Edit, guards []Guard) (*image.Image, error) {
	want, err := edit(before.Clone())
	if err != nil {
		return nil, err
	}
	if err := want.Validate(); err != nil {
		return nil, &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	want = want.Clone()
	want.Canonicalize()
	for _, g := range guards {
		if err := g(before, want); err != nil {
			return nil, err
		}
	}
	return want, nil
}
