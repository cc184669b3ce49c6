// Package held names what a backend gives for a socket taken for changes:
// one read of the socket, the wanted state made from that read, and the
// steps between them, judged by the kernel as the caller.
package held

import (
	"github.com/inetcr/inetcr/netlinkio/creds"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// Edit makes the wanted image from the socket's image as read; before is
// the edit's own copy, which it may change and return.
type Edit func(before *image.Image) (*image.Image, error)

// Guard vets a change before anything is made: it sees the image the plan
// was made from and the wanted one, and returns an error to refuse. The
// tree's change log is one.
type Guard func(before, want *image.Image) error

// Socket is a socket taken for changes. The stock engine duplicates it
// when it is taken (at the open of a file for writing), so a change made
// later, even at a close inside the holder's own exec, waits on no process.
type Socket interface {
	// Update reads the socket once, makes the wanted image with edit from
	// that read, passes both to each guard, and makes exactly the changes
	// that turn the one into the other: nothing when they are equal. Each
	// change is made by a thread that wears who, so the kernel judges it
	// as it would judge who's own call; nil makes it as this process. A
	// change that fails is undone, with every change made before it.
	Update(who *creds.Creds, edit Edit, guards ...Guard) error
	// Close lets the socket go.
	Close() error
}
