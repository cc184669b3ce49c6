// Package crfamily is the client of the af_inet_cr generic netlink family
// (Kernel): a backend whose dump and restore are requests to the kernel.
// internal/crsim simulates the family for its tests.
package crfamily

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// The af_inet_cr generic netlink family (docs/image-format.md, DESIGN.md
// section 2).
const (
	FamilyName    = "AF_INET_CR"
	FamilyVersion = 1
	CmdDump       = 1 // request: INODE; reply: the image's attributes
	CmdRestore    = 2 // request: INODE, then the image's attributes; reply: ack
)

// ErrNoFamily is returned by NewKernel when the running kernel does not
// resolve AF_INET_CR, which is every stock kernel; Open("auto") then falls
// back to the stock engine.
var ErrNoFamily = errors.New("af_inet_cr: kernel has no generic netlink family " + FamilyName)

// Kernel is the client of the af_inet_cr generic netlink family. Dump and
// Restore are requests to the family; List and Holders are the lister's,
// since the family names sockets but does not enumerate them.
type Kernel struct {
	c      *genetlink.Conn
	family genetlink.Family
	lister Lister
}

// Lister lists sockets and finds their holders for a Kernel; the stock
// engine is one.
type Lister interface {
	List() ([]image.Socket, error)
	Holders(inode uint64) ([]image.Holder, error)
	Close() error
}

// NewKernel dials generic netlink and resolves AF_INET_CR. lister lists
// sockets and their holders (the stock engine); the Kernel closes it.
func NewKernel(lister Lister) (*Kernel, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("af_inet_cr: dial generic netlink: %w", err)
	}
	k, err := NewKernelConn(c, lister)
	if err != nil {
		c.Close()
		return nil, err
	}
	// With extended acks the kernel can say which attribute it refused; an
	// old kernel without them still answers with the errno, so a failure to
	// turn them on is not fatal.
	_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	return k, nil
}

// NewKernelConn resolves AF_INET_CR on an existing connection, such as a
// simulated one (internal/crsim). On error the caller keeps c.
func NewKernelConn(c *genetlink.Conn, lister Lister) (*Kernel, error) {
	f, err := c.GetFamily(FamilyName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoFamily
	}
	if err != nil {
		return nil, fmt.Errorf("af_inet_cr: resolve family %s: %w", FamilyName, err)
	}
	if f.Version != FamilyVersion {
		return nil, fmt.Errorf("af_inet_cr: family %s has version %d, this client speaks %d", FamilyName, f.Version, FamilyVersion)
	}
	return &Kernel{c: c, family: f, lister: lister}, nil
}

func (k *Kernel) Name() string { return "kernel" }

// Close closes the connection and the lister.
func (k *Kernel) Close() error {
	return errors.Join(k.c.Close(), k.lister.Close())
}

func (k *Kernel) List() ([]image.Socket, error) { return k.lister.List() }

func (k *Kernel) Holders(inode uint64) ([]image.Holder, error) { return k.lister.Holders(inode) }

// Dump asks the family for the socket's image and decodes the reply as
// strictly as a written image.bin, so a kernel that answers in another
// format is caught here rather than in a later restore.
func (k *Kernel) Dump(inode uint64) (*image.Image, error) {
	msgs, err := k.execute(CmdDump, inodeAttr(inode), netlink.Request)
	if err != nil {
		return nil, kernelErr("dump", inode, err)
	}
	if len(msgs) != 1 {
		return nil, &image.OpError{Op: "dump", Inode: inode, Step: "reply", Err: fmt.Errorf("%d messages, want 1", len(msgs))}
	}
	img, err := image.Decode(msgs[0].Data)
	if err != nil {
		return nil, &image.OpError{Op: "dump", Inode: inode, Step: "reply", Err: err}
	}
	return img, nil
}

// Restore validates the image here, where the error can name the
// attribute, and then asks the family to apply it; the family validates it
// again and is the one that leaves the socket unchanged on failure.
func (k *Kernel) Restore(inode uint64, img *image.Image) error {
	if err := img.Validate(); err != nil {
		return &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	data := append(inodeAttr(inode), img.Encode()...)
	if _, err := k.execute(CmdRestore, data, netlink.Request|netlink.Acknowledge); err != nil {
		return kernelErr("restore", inode, err)
	}
	return nil
}

func (k *Kernel) execute(cmd uint8, data []byte, flags netlink.HeaderFlags) ([]genetlink.Message, error) {
	req := genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: FamilyVersion},
		Data:   data,
	}
	return k.c.Execute(req, k.family.ID, flags)
}

// inodeAttr is the INODE attribute that starts every request.
func inodeAttr(inode uint64) []byte {
	return image.AppendAttr(nil, image.AttrInode, binary.NativeEndian.AppendUint64(nil, inode))
}

// kernelErr unwraps netlink's OpError, whose Op is only "receive", to the
// errno the family answered with (its ENOENT, no socket of that inode, as
// image.ErrNoSocket), so that errors.Is(err, syscall.ENOENT)
// holds and the message says which socket and operation failed. The text of
// an extended ack, when the kernel sent one, is kept.
func kernelErr(op string, inode uint64, err error) error {
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		err = oe.Err
		if errors.Is(err, syscall.ENOENT) {
			// The family answers a request on an inode it finds no
			// socket for with ENOENT.
			err = image.ErrNoSocket
		}
		if oe.Message != "" {
			err = fmt.Errorf("%s: %w", oe.Message, err)
		}
	}
	return &image.OpError{Op: op, Inode: inode, Err: err}
}

// Interfaces lists the interfaces of a socket's own network namespace
// through the lister, which the family has no command for.
func (k *Kernel) Interfaces(inode uint64) ([]image.Interface, error) {
	if l, ok := k.lister.(interface {
		Interfaces(uint64) ([]image.Interface, error)
	}); ok {
		return l.Interfaces(inode)
	}
	return nil, &image.OpError{Op: "interfaces", Inode: inode, Err: syscall.ENOTSUP}
}

// Netns is the inode of a socket's own network namespace, from the lister.
func (k *Kernel) Netns(inode uint64) (uint64, error) {
	if l, ok := k.lister.(interface{ Netns(uint64) (uint64, error) }); ok {
		return l.Netns(inode)
	}
	return 0, &image.OpError{Op: "netns", Inode: inode, Err: syscall.ENOTSUP}
}

// Meminfo is the socket's memory use, from the lister.
func (k *Kernel) Meminfo(inode uint64) (image.Meminfo, error) {
	if l, ok := k.lister.(interface {
		Meminfo(uint64) (image.Meminfo, error)
	}); ok {
		return l.Meminfo(inode)
	}
	return image.Meminfo{}, &image.OpError{Op: "meminfo", Inode: inode, Err: syscall.ENOTSUP}
}

// LimitNetns limits the lister's listing to one network namespace.
func (k *Kernel) LimitNetns(ino uint64) {
	if l, ok := k.lister.(interface{ LimitNetns(uint64) }); ok {
		l.LimitNetns(ino)
	}
}
