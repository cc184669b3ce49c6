package fs

import (
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// interruptible answers EINTR to a request the kernel interrupts (a signal
// reached the caller while it waited), so that a program handling that
// signal is freed at once rather than when a slow /proc or a holder that
// does not answer lets the request finish. Only requests that change
// nothing are abandoned: a lookup, a getattr, an open (which only holds
// the socket), a read and a plain directory listing (READDIRPLUS looks
// entries up, and those lookups could not be given back). The abandoned work goes on
// in the background, bounded by its own deadlines, and what it created for
// a caller that is gone (a node reference, an open file) is given back
// when it ends. Changes (write, flush, create, unlink, setattr) are never
// abandoned: an EINTR must not stand for a change that happens anyway.
type interruptible struct{ fuse.RawFileSystem }

// abandonable runs op and returns its status, or EINTR once cancel is
// closed and op has not ended within interruptGrace; then undo gets op's
// status once op ends.
func abandonable(cancel <-chan struct{}, op func() fuse.Status, undo func(fuse.Status)) fuse.Status {
	if cancel == nil {
		return op()
	}
	done := make(chan fuse.Status, 1)
	go func() { done <- op() }()
	select {
	case st := <-done:
		return st
	case <-cancel:
	}
	select {
	case st := <-done:
		return st
	case <-time.After(interruptGrace):
	}
	go func() {
		if st := <-done; undo != nil {
			undo(st)
		}
	}()
	return fuse.EINTR
}

// interruptGrace is how long an interrupted request may still finish on
// its own. Signals are common (the Go runtime preempts with SIGURG, and
// the kernel forwards any signal a caller gets while it waits): a request
// that would end at once anyway is answered as usual, and only one that
// really waits is cut short.
const interruptGrace = 50 * time.Millisecond

func (f interruptible) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	return abandonable(cancel, func() fuse.Status { return f.RawFileSystem.Lookup(cancel, h, name, out) },
		func(st fuse.Status) { f.forget(st, out) })
}

// forget gives back the reference a lookup that nobody received took.
func (f interruptible) forget(st fuse.Status, out *fuse.EntryOut) {
	if st.Ok() && out.NodeId != 0 {
		f.RawFileSystem.Forget(out.NodeId, 1)
	}
}

func (f interruptible) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	return abandonable(cancel, func() fuse.Status { return f.RawFileSystem.GetAttr(cancel, in, out) }, nil)
}

func (f interruptible) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return abandonable(cancel, func() fuse.Status { return f.RawFileSystem.Open(cancel, in, out) },
		func(st fuse.Status) {
			if st.Ok() {
				f.RawFileSystem.Release(nil, &fuse.ReleaseIn{InHeader: in.InHeader, Fh: out.Fh, Flags: in.Flags})
			}
		})
}

func (f interruptible) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	var res fuse.ReadResult
	st := abandonable(cancel, func() (st fuse.Status) { res, st = f.RawFileSystem.Read(cancel, in, buf); return st }, nil)
	if st == fuse.EINTR {
		return nil, st
	}
	return res, st
}

func (f interruptible) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return abandonable(cancel, func() fuse.Status { return f.RawFileSystem.ReadDir(cancel, in, out) }, nil)
}
