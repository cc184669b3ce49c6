package netlinkio

import (
	"strconv"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/creds"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"golang.org/x/sys/unix"
)

// inetcr runs as root and could change any socket; it must not lend that
// power. Every change is made by a thread that wears the credentials of
// the process it is made for (package creds), so the kernel's own checks
// judge it; there is no table of the kernel's rules to keep up with. What
// the tree checks itself is who may use which socket (MayUse).

// Caller is the process on whose behalf a change is made, with the
// credentials it had when it opened the file: as the kernel takes f_cred at
// open(2), whoever later writes or closes the descriptor does not count.
type Caller struct {
	Pid  int
	Comm string
	creds.Creds
}

// CallerOf reads thread tid's credentials (creds.Of) and command name.
// FUSE gives the uid and gid with the request. A thread whose credentials
// cannot be read gets an error, and a Caller with its uid and gid only.
func CallerOf(tid int, uid, gid uint32) (Caller, error) {
	c, err := creds.Of(tid, uid, gid)
	return Caller{Pid: tid, Comm: procfs.Comm(tid), Creds: c}, err
}

// Has reports whether the caller has any of the capabilities.
func (c Caller) Has(caps ...int) bool {
	for _, cp := range caps {
		if c.Caps&(1<<uint(cp)) != 0 {
			return true
		}
	}
	return false
}

// AccessError is a caller refused a socket it does not own; it unwraps to
// EACCES, what the kernel says for a file whose mode shuts the caller out.
type AccessError struct {
	Uid   uint32 // the caller's
	Owner uint32 // the socket's
}

func (e *AccessError) Error() string {
	return "uid " + strconv.FormatUint(uint64(e.Uid), 10) + " may not use a socket of uid " + strconv.FormatUint(uint64(e.Owner), 10)
}

func (e *AccessError) Unwrap() error { return syscall.EACCES }

// MayUse returns nil if the caller may read (or, with write, change) a
// socket owned by owner, and an *AccessError otherwise. The rule is the one
// the kernel applies to the tree's owner-only modes: the owner, or a caller
// with CAP_DAC_OVERRIDE (CAP_DAC_READ_SEARCH suffices to read). The tree
// repeats it so that it holds even where the kernel's check is bypassed.
func (c Caller) MayUse(owner uint32, write bool) error {
	if c.Uid == owner || c.Has(unix.CAP_DAC_OVERRIDE) || !write && c.Has(unix.CAP_DAC_READ_SEARCH) {
		return nil
	}
	return &AccessError{Uid: c.Uid, Owner: owner}
}
