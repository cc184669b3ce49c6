package crfamily

import (
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// Hold names the socket for changes. The family finds a socket by its
// inode itself, so taking it holds nothing; a change is a DUMP, the edit
// and a RESTORE (held.ByImage, whose lost-update race this backend has),
// and the RESTORE is sent from a thread that wears the caller, so the
// family, whose handler runs in the sender's context, judges it as the
// caller.
func (k *Kernel) Hold(inode uint64) (held.Socket, error) {
	return held.ByImage(inode,
		func() (*image.Image, error) { return k.Dump(inode) },
		func(img *image.Image) error { return k.Restore(inode, img) }), nil
}
