package exact

import (
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf/link"
	"github.com/inetcr/inetcr/netlinkio/image"
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

// UnheldError is a change asked of a socket no process holds
// (image.UnheldError).
type UnheldError = image.UnheldError

// tableSockets are the inodes of one namespace's socket tables.
type tableSockets struct {
	ns     netns.Namespace
	inodes []uint64
}

// readTables names the sockets of the tables of every network namespace
// (or the one LimitNetns names), held or not. A namespace that went away
// during the walk is skipped.
func (e *Exact) readTables() ([]tableSockets, error) {
	var out []tableSockets
	err := e.eachNetns(func(ns netns.Namespace) error {
		b, err := e.prog.walk(e.prog.udp, e.prog.tcp)
		if err != nil {
			return err
		}
		inodes, err := parseInodes(b)
		if err != nil {
			return err
		}
		out = append(out, tableSockets{ns: ns, inodes: inodes})
		return nil
	})
	return out, err
}

// readUnheld reads whole the sockets of the tables that no task held in
// the pass p: the socket iterators again, in each namespace that has
// some, limited to them (the wanted map; as many at a time as it takes).
func (e *Exact) readUnheld(tables []tableSockets, p *pass) ([]record, error) {
	var out []record
	for _, t := range tables {
		var unheld []uint64
		for _, ino := range t.inodes {
			if len(p.holders[ino]) == 0 {
				unheld = append(unheld, ino)
			}
		}
		for len(unheld) > 0 {
			var batch []uint64
			for len(unheld) > 0 && e.prog.wanted.add(unheld[0]) {
				batch, unheld = append(batch, unheld[0]), unheld[1:]
			}
			if len(batch) == 0 {
				return nil, fmt.Errorf("exact reader: sockets no task holds: %w", errWantedFull)
			}
			var b []byte
			read := func() (err error) {
				b, err = e.prog.walk(e.prog.udpWanted, e.prog.tcpWanted)
				return err
			}
			err := e.in(t.ns, read)
			for _, ino := range batch {
				e.prog.wanted.remove(ino)
			}
			if gone(err) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("exact reader: sockets of %s: %w", netns.String(t.ns.Ino), err)
			}
			recs, err := parse(b)
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
		}
	}
	return out, nil
}

// errWantedFull: the wanted map has no room even for one socket.
var errWantedFull = errors.New("the map of wanted sockets is full")

// eachNetns runs fn on a thread in each network namespace (or the one
// LimitNetns names), skipping the ones that went away.
func (e *Exact) eachNetns(fn func(ns netns.Namespace) error) error {
	all, err := netns.List()
	if err != nil {
		return fmt.Errorf("exact reader: network namespaces: %w", err)
	}
	only := e.only.Load()
	for _, ns := range all {
		if only != 0 && ns.Ino != only {
			continue
		}
		err := e.in(ns, func() error { return fn(ns) })
		if gone(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("exact reader: sockets of %s: %w", netns.String(ns.Ino), err)
		}
	}
	return nil
}

// in runs fn on a thread in the namespace ns (this one's own: here).
func (e *Exact) in(ns netns.Namespace, fn func() error) error {
	if ns.Ino == e.netns {
		return fn()
	}
	return netns.RunAt(ns.Path, ns.Ino, fn)
}

// gone is a namespace that went away.
func gone(err error) bool { return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) }

// walk runs the socket iterators on this thread (an iterator walks the
// tables of the namespace it is made in) and returns what they wrote.
func (p *program) walk(links ...*link.Iter) ([]byte, error) {
	var out []byte
	for _, l := range links {
		rd, err := l.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			return nil, fmt.Errorf("exact reader: read: %w", err)
		}
		out = append(out, b...)
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
