package exact

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/link"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
	"golang.org/x/sys/unix"
)

// Sockets no task holds: a socket in flight in an SCM_RIGHTS message
// (sent, its sender's copy closed, not yet received) is in no process's
// files, so the task_file iterator never sees it. The socket iterators
// (iter/udp, iter/tcp) walk a namespace's socket tables instead, whoever
// holds the sockets: what they find that no task holds is unheld. It can
// be read from its record, but not changed: nothing can duplicate it.
// Linux has no raw socket iterator, so an unheld raw socket stays
// unseen, as does an unbound UDP or TCP one (it is in no table).

// UnheldError is a change asked of a socket no process holds. It is
// EROFS: the socket can be read, not changed.
type UnheldError struct{ Inode uint64 }

func (e *UnheldError) Error() string {
	return fmt.Sprintf("no process holds socket %d: it is in flight or kernel-held; it can be read, not changed", e.Inode)
}

func (e *UnheldError) Unwrap() error { return unix.EROFS }

// readTables runs the socket iterators in every network namespace (or
// the one LimitNetns names): the sockets of their tables, held or not.
// A namespace that went away during the walk is skipped.
func (e *Exact) readTables() ([]record, error) {
	all, err := netns.List()
	if err != nil {
		return nil, fmt.Errorf("exact reader: network namespaces: %w", err)
	}
	only := e.only.Load()
	var out []record
	for _, ns := range all {
		if only != 0 && ns.Ino != only {
			continue
		}
		var recs []record
		read := func() (err error) {
			recs, err = e.prog.readTables()
			return err
		}
		if ns.Ino == e.netns {
			err = read()
		} else {
			err = netns.RunAt(ns.Path, ns.Ino, read)
		}
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("exact reader: sockets of %s: %w", netns.String(ns.Ino), err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// readTables runs the socket iterators on this thread: an iterator walks
// the tables of the namespace it is made in.
func (p *program) readTables() ([]record, error) {
	var out []record
	for _, l := range []*link.Iter{p.udp, p.tcp} {
		rd, err := l.Open()
		if err != nil {
			return nil, err
		}
		recs, err := readRecords(rd)
		rd.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// unheld is the socket's record when the pass found it in a table and no
// task holds it.
func (p *pass) unheld(inode uint64) (*record, bool) {
	r, ok := p.recs[inode]
	return r, ok && len(p.holders[inode]) == 0
}

// unheldIn is the socket's record when the latest pass (a new one if it
// is stale) says no task holds it.
func (e *Exact) unheldIn(inode uint64) (*record, bool) {
	p, _, err := e.recent()
	if err != nil {
		return nil, false
	}
	return p.unheld(inode)
}
