// Package crsim simulates the af_inet_cr generic netlink family on
// genetlink's genltest, with a Backend (the stock engine) as its kernel
// half. No stock kernel has the family, so this is where the client
// (crfamily.Kernel) and the wire protocol are proven: the simulation
// parses requests as strictly as a kernel family with a policy would and
// answers with netlink errors carrying the engine's errno.
package crsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/crfamily"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// FamilyID is the id the simulated kernel gives AF_INET_CR. Real ids are
// assigned at registration; clients must resolve it, never assume it.
const FamilyID = 0x1f

// Sim is a simulated kernel that has the AF_INET_CR family.
type Sim struct {
	engine Engine

	mu   sync.Mutex
	last error
}

// Engine is the simulated kernel's half: what dumps and restores a socket.
type Engine interface {
	Dump(inode uint64) (*image.Image, error)
	Restore(inode uint64, img *image.Image) error
}

// New returns a simulation whose family dumps and restores through engine.
func New(engine Engine) *Sim { return &Sim{engine: engine} }

// Dial is New(engine).Dial().
func Dial(engine Engine) *genetlink.Conn { return New(engine).Dial() }

// Dial returns a connection to the simulated kernel.
func (s *Sim) Dial() *genetlink.Conn { return genltest.Dial(s.Func()) }

// LastError is why the simulation last answered with an error, nil if it
// has not. A netlink error carries only an errno, so tests read the reason
// here.
func (s *Sim) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Func is the simulated kernel as a genltest.Func: the generic netlink
// controller, which resolves AF_INET_CR, and the family itself.
func (s *Sim) Func() genltest.Func {
	return func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		// genltest asks again with no request when a reply held no
		// messages; there is nothing more to receive.
		if nreq.Header.Length == 0 {
			return nil, io.EOF
		}
		msgs, err := s.handle(greq, nreq)
		switch {
		case err == nil:
			return msgs, nil
		case err == errAck:
			// An ack is an error message with errno 0.
			return nil, genltest.Error(0)
		case err == io.EOF:
			return nil, io.EOF
		}
		s.mu.Lock()
		s.last = err
		s.mu.Unlock()
		return nil, genltest.Error(int(errno(err)))
	}
}

// errAck is how handle asks for an ack: success with NLM_F_ACK set.
var errAck = errors.New("ack")

func (s *Sim) handle(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	switch nreq.Header.Type {
	case unix.GENL_ID_CTRL:
		return getFamily(greq, nreq)
	case FamilyID:
	default:
		// The kernel answers a message to an unregistered family id so.
		return nil, fmt.Errorf("no generic netlink family with id %d: %w", nreq.Header.Type, unix.ENOENT)
	}
	// The family registers doit handlers only; a dump request has no
	// handler to reach.
	if nreq.Header.Flags&netlink.Dump == netlink.Dump {
		return nil, fmt.Errorf("NLM_F_DUMP: %w", unix.EOPNOTSUPP)
	}
	inode, rest, err := splitInode(greq.Data)
	if err != nil {
		return nil, err
	}
	switch greq.Header.Command {
	case crfamily.CmdDump:
		if len(rest) != 0 {
			return nil, &image.AttrError{Attr: "DUMP request", Reason: fmt.Sprintf("%d bytes after INODE; a dump request holds INODE only", len(rest))}
		}
		img, err := s.engine.Dump(inode)
		if err != nil {
			return nil, err
		}
		return []genetlink.Message{{
			Header: genetlink.Header{Command: crfamily.CmdDump, Version: crfamily.FamilyVersion},
			Data:   img.Encode(),
		}}, nil
	case crfamily.CmdRestore:
		img, err := image.Decode(rest)
		if err != nil {
			return nil, err
		}
		if err := s.engine.Restore(inode, img); err != nil {
			return nil, err
		}
		if nreq.Header.Flags&netlink.Acknowledge == 0 {
			return nil, io.EOF // success without NLM_F_ACK has no reply
		}
		return nil, errAck
	}
	return nil, fmt.Errorf("command %d: %w", greq.Header.Command, unix.EOPNOTSUPP)
}

// splitInode takes the INODE attribute off the front of a request, where
// the protocol puts it, so that what follows is a plain image (which must
// start with VERSION and may not hold INODE again).
func splitInode(b []byte) (uint64, []byte, error) {
	const size = 4 + 8
	bad := func(format string, args ...any) (uint64, []byte, error) {
		return 0, nil, &image.AttrError{Attr: "INODE", Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < 4 {
		return bad("missing: the request has %d bytes of attributes", len(b))
	}
	n, typ := binary.NativeEndian.Uint16(b), binary.NativeEndian.Uint16(b[2:])
	if typ != image.AttrInode {
		return bad("must be the first attribute, found %s", image.AttrName(typ&^0xc000))
	}
	if n != size || len(b) < size {
		return bad("length %d, want %d", int(n)-4, 8)
	}
	return binary.NativeEndian.Uint64(b[4:size]), b[size:], nil
}

// errno is the netlink error a kernel would answer with: the engine's errno
// where it has one (an image it refuses unwraps to EINVAL), EIO otherwise.
func errno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return unix.EIO
}

// getFamily answers CTRL_CMD_GETFAMILY by name as the kernel's controller
// does: AF_INET_CR is found, any other name is ENOENT.
func getFamily(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	if greq.Header.Command != unix.CTRL_CMD_GETFAMILY || nreq.Header.Flags&netlink.Dump == netlink.Dump {
		return nil, fmt.Errorf("controller command %d: %w", greq.Header.Command, unix.EOPNOTSUPP)
	}
	ad, err := netlink.NewAttributeDecoder(greq.Data)
	if err != nil {
		return nil, fmt.Errorf("controller request: %v: %w", err, unix.EINVAL)
	}
	var name string
	for ad.Next() {
		if ad.Type() == unix.CTRL_ATTR_FAMILY_NAME {
			name = ad.String()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("controller request: %v: %w", err, unix.EINVAL)
	}
	if name != crfamily.FamilyName {
		return nil, fmt.Errorf("no generic netlink family %q: %w", name, unix.ENOENT)
	}
	f := genetlink.Family{ID: FamilyID, Name: crfamily.FamilyName, Version: crfamily.FamilyVersion}
	return genltest.ServeFamily(f, nil)(greq, nreq)
}
