// Package exact is the exact reader: a BPF task_file iterator
// (bpf/iter.bpf.c, loaded with github.com/cilium/ebpf) reads every inet
// socket that any task holds, from struct sock, struct inet_sock and (TCP)
// struct tcp_sock, in one pass. It sees what getsockopt cannot: the multicast interface chosen
// by index, "follow the default TTL", each membership's interface address
// and the order of the list. Changes still go through setsockopt on a
// pidfd duplicate (the stock engine's, netlinkio/stock), planned from the
// exact reader's image of that duplicate.
package exact

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
	"github.com/inetcr/inetcr/netlinkio/internal/parallel"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"github.com/inetcr/inetcr/netlinkio/internal/sockdiag"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// Exact is the exact reader's backend.
type Exact struct {
	prog    *program
	env     env
	stock   *stock.Stock
	netns   uint64        // this process's network namespace
	only    atomic.Uint64 // LimitNetns: the one namespace listed, 0 for all
	scratch int           // a unix socket of this namespace, for its interfaces' names: not an inet one, which the listing would show
	listing sockdiag.Shared

	mu   sync.Mutex
	last *pass // the latest pass's holders, for holders and a dump's holder pid

	passes atomic.Int64 // passes run, for the tests of what needs none
}

// pass is the result of one run over every task's files.
type pass struct {
	at      time.Time
	holders map[uint64][]image.Holder // by inode; pid then fd
	recs    map[uint64]*record        // the first record of each inode
}

// passFresh is how long a pass answers for which process holds a socket
// (a dump then reads that process's files, and looks again if the socket
// is not there).
const passFresh = time.Second

// Open loads the program and checks it runs here. An error is a
// *CannotRun that says why.
func Open(cfg Config) (*Exact, error) {
	p, err := load(cfg)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		p.Close()
		return nil, &CannotRun{Why: "no /proc/self/ns/net", Err: err}
	}
	scratch, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		p.Close()
		return nil, &CannotRun{Why: "no socket to name interfaces with", Err: err}
	}
	e := &Exact{prog: p, stock: stock.NewStock(), netns: st.Ino, scratch: scratch}
	e.env = newEnv(p.bits, p.hz, e.ifname)
	return e, nil
}

// Name is "exact".
func (e *Exact) Name() string { return "exact" }

// Close unloads the program.
func (e *Exact) Close() error {
	unix.Close(e.scratch)
	return e.prog.Close()
}

// HZ is the kernel's tick rate, measured at load.
func (e *Exact) HZ() int64 { return e.prog.hz }

// readPass runs the program over every task's files and indexes the
// result.
func (e *Exact) readPass() (*pass, error) {
	// The tables first: a socket made between the two reads is then
	// seen held (in the task_file pass) rather than unheld.
	tables, err := e.readTables()
	if err != nil {
		return nil, err
	}
	recs, err := e.prog.readAll()
	if err != nil {
		return nil, err
	}
	e.passes.Add(1)
	p := &pass{at: time.Now(), holders: map[uint64][]image.Holder{}, recs: make(map[uint64]*record, len(recs))}
	for i := range recs {
		r := &recs[i]
		if !r.handled() {
			continue
		}
		if _, ok := p.recs[r.Inode]; !ok {
			p.recs[r.Inode] = r
		}
		p.holders[r.Inode] = append(p.holders[r.Inode], image.Holder{Pid: int(r.Pid), Fd: int(r.Fd)})
	}
	unheld, err := e.readUnheld(tables, p) // what no task holds: unheld.go
	if err != nil {
		return nil, err
	}
	for i := range unheld {
		if r := &unheld[i]; r.handled() && p.recs[r.Inode] == nil {
			p.recs[r.Inode] = r
		}
	}
	for _, hs := range p.holders {
		slices.SortFunc(hs, func(a, b image.Holder) int {
			if a.Pid != b.Pid {
				return a.Pid - b.Pid
			}
			return a.Fd - b.Fd
		})
	}
	// Kept for holders, and the records of the sockets no task holds
	// (a dump of one has nowhere else to read it): the records of every
	// socket of the host would stay alive with it until the next pass.
	kept := &pass{at: p.at, holders: p.holders, recs: map[uint64]*record{}}
	for ino, r := range p.recs {
		if len(p.holders[ino]) == 0 {
			c := *r // a copy: a pointer would keep the pass's whole slice
			kept.recs[ino] = &c
		}
	}
	e.mu.Lock()
	e.last = kept
	e.mu.Unlock()
	return p, nil
}

// recent returns the latest pass while it is fresh (cached true), or a
// new one.
func (e *Exact) recent() (p *pass, cached bool, err error) {
	e.mu.Lock()
	p = e.last
	e.mu.Unlock()
	if p != nil && time.Since(p.at) < passFresh {
		return p, true, nil
	}
	p, err = e.readPass()
	return p, false, err
}

// List returns the AF_INET and AF_INET6 sockets that a task holds, of
// every network namespace (or the one LimitNetns names), from one pass;
// concurrent callers share it as the stock
// engine's callers share a sock_diag dump.
func (e *Exact) List() ([]image.Socket, error) {
	return e.listing.Get(func() ([]image.Socket, error) {
		p, err := e.readPass()
		if err != nil {
			return nil, err
		}
		return e.sockets(p), nil
	})
}

// ListBatch lists, and dumps what the caller picks of the listing from
// the listing's own pass (netlinkio.ListBatcher): `dump --all` is one pass,
// not a pass to list and another to dump. The pass lives as long as the
// dump function does; a mount, which lists with List, keeps no pass.
func (e *Exact) ListBatch() ([]image.Socket, func(inodes []uint64, workers int, each func(uint64, *image.Image, error)), error) {
	p, err := e.readPass()
	if err != nil {
		return nil, nil, err
	}
	return e.sockets(p), func(inodes []uint64, workers int, each func(uint64, *image.Image, error)) {
		e.dumpFrom(p, inodes, workers, each)
	}, nil
}

// sockets is the listing of a pass: its sockets of the namespace
// LimitNetns names (every one's when none), by inode.
func (e *Exact) sockets(p *pass) []image.Socket {
	out := make([]image.Socket, 0, len(p.recs))
	only := e.only.Load()
	for _, r := range p.recs {
		if only == 0 || r.Netns == only {
			s := r.socket()
			s.Unheld = len(p.holders[r.Inode]) == 0
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b image.Socket) int {
		if a.Inode < b.Inode {
			return -1
		}
		if a.Inode > b.Inode {
			return 1
		}
		return 0
	})
	for i := range out {
		if out[i].Type != unix.SOCK_STREAM {
			out[i].State = datagramState(out[i].Peer)
		}
		if out[i].Type == unix.SOCK_RAW {
			out[i].Local = netipAddrPort(out[i].Local, out[i].Protocol)
		}
	}
	return out
}

// Holders returns the processes that hold the socket, from a pass or the
// stock engine's holder index (holdersOf), with their command.
func (e *Exact) Holders(inode uint64) ([]image.Holder, error) {
	hs, err := e.holdersOf(inode)
	if err != nil {
		return nil, &image.OpError{Op: "holders", Inode: inode, Err: err}
	}
	out := slices.Clone(hs)
	for i := range out {
		out[i].Comm = procfs.Comm(out[i].Pid)
	}
	return out, nil
}

// holdersOf finds the socket's holders in the latest pass, or in a new
// one when the latest does not have it.
//
// Without a fresh pass, the stock engine's holder index answers first: a
// readlink of the holder's descriptor when it knows the socket, where a
// pass runs the program over every file of the host (300 ms at 100,000
// sockets, for each first read: docs/performance.md, "The exact reader").
func (e *Exact) holdersOf(inode uint64) ([]image.Holder, error) {
	e.mu.Lock()
	p := e.last
	e.mu.Unlock()
	if p == nil || time.Since(p.at) >= passFresh {
		if hs, err := e.stock.Holders(inode); err == nil {
			return hs, nil
		}
	}
	p, cached, err := e.recent()
	if err != nil {
		return nil, err
	}
	if hs := p.holders[inode]; len(hs) > 0 {
		return hs, nil
	}
	if cached { // a socket newer than the pass: look again
		if p, err = e.readPass(); err != nil {
			return nil, err
		}
	}
	if hs := p.holders[inode]; len(hs) > 0 {
		return hs, nil
	}
	return nil, image.ErrNoSocket
}

// Dump reads the socket from its holder's files only (recordOf).
func (e *Exact) Dump(inode uint64) (*image.Image, error) {
	r, err := e.recordOf(inode)
	if err != nil {
		return nil, &image.OpError{Op: "dump", Inode: inode, Err: err}
	}
	return e.imageOf(r, -1)
}

// recordOf reads the socket's record now: the latest pass or the stock
// engine's holder index says which descriptor of which process holds it,
// and the one-socket read (readSocket: a duplicate with storage in the
// asked map) reads it. A holder that let it go meanwhile means one more
// pass. A socket no task holds is its record in
// the latest pass, which no task can refresh.
func (e *Exact) recordOf(inode uint64) (*record, error) {
	for try := 0; try < 2; try++ {
		hs, err := e.holdersOf(inode)
		if errors.Is(err, image.ErrNoSocket) {
			if r, ok := e.unheldIn(inode); ok {
				return r, nil
			}
		}
		if err != nil {
			return nil, err
		}
		recs, err := e.prog.readSocket(hs[0].Pid, hs[0].Fd, inode)
		if errors.Is(err, image.ErrNoSocket) {
			recs, err = nil, nil // let go of since the holders were found: look again
		}
		if err != nil {
			return nil, err
		}
		for i := range recs {
			if recs[i].Inode == inode && recs[i].handled() {
				return &recs[i], nil
			}
		}
		if _, err := e.readPass(); err != nil {
			return nil, err
		}
	}
	return nil, image.ErrNoSocket
}

// DumpBatch dumps many sockets from one pass (netlinkio.BatchDumper).
func (e *Exact) DumpBatch(inodes []uint64, workers int, each func(inode uint64, img *image.Image, err error)) {
	p, err := e.readPass()
	if err != nil {
		for _, ino := range inodes {
			each(ino, nil, &image.OpError{Op: "dump", Inode: ino, Err: err})
		}
		return
	}
	e.dumpFrom(p, inodes, workers, each)
}

// dumpFrom builds the images of inodes from the pass p with up to workers
// goroutines. A row the program read no field for would be asked of a
// duplicate of each socket, through one pidfd per holder process for the
// whole batch (not a pidfd_open and a close per socket); today every row
// has a field (TestNoRowAsked).
func (e *Exact) dumpFrom(p *pass, inodes []uint64, workers int, each func(inode uint64, img *image.Image, err error)) {
	dup := stock.NewDuplicator()
	defer dup.Close()
	parallel.Run(len(inodes), workers, func(i int) {
		ino := inodes[i]
		r, ok := p.recs[ino]
		if !ok {
			each(ino, nil, &image.OpError{Op: "dump", Inode: ino, Err: image.ErrNoSocket})
			return
		}
		img, ierr := e.imageWith(r, -1, dup.Duplicate)
		each(ino, img, ierr)
	})
}

// Hold duplicates the socket for changes; each change plans from the
// exact image of the duplicate.
func (e *Exact) Hold(inode uint64) (held.Socket, error) {
	h, err := e.stock.HoldWith(inode, e.readOwn)
	if errors.Is(err, image.ErrNoSocket) {
		if _, ok := e.unheldIn(inode); ok {
			return nil, &image.OpError{Op: "hold", Inode: inode, Err: &UnheldError{Inode: inode}}
		}
	}
	return h, err
}

// readOwn reads a descriptor of this process: the duplicate a change is
// made on.
func (e *Exact) readOwn(fd int) (*image.Image, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	recs, err := e.prog.readAsked(fd, st.Ino, iterHolder{Pid: uint32(os.Getpid()), Fd: uint32(fd)})
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if int(recs[i].Fd) == fd {
			return e.imageOf(&recs[i], fd)
		}
	}
	return nil, image.ErrNoSocket
}

// Restore makes the socket's state the image's, as this process.
func (e *Exact) Restore(inode uint64, img *image.Image) error {
	if err := img.Validate(); err != nil {
		return &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	h, err := e.Hold(inode)
	if err != nil {
		var oe *image.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		return &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	defer h.Close()
	return h.Update(nil, func(*image.Image) (*image.Image, error) { return img, nil })
}

// ifname names an interface of the socket's network namespace: this
// process's own, or, on a thread inside it, the holder's when that is the
// socket's.
func (e *Exact) ifname(ns uint64, pid int, ifindex int32) (string, error) {
	var name string
	look := func(fd int) error {
		if name = stock.IfName(fd, ifindex); name == "" {
			return syscall.ENODEV
		}
		return nil
	}
	if ns == e.netns {
		return name, look(e.scratch)
	}
	inside := func() error { // a socket answers for the namespace it is made in; SIOCGIFNAME takes any family
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return look(fd)
	}
	if err := netns.RunAt("/proc/"+strconv.Itoa(pid)+"/ns/net", ns, inside); err != nil {
		return "", fmt.Errorf("the socket's network namespace %s: %w", netns.String(ns), err)
	}
	return name, nil
}

// imageOf is the socket's image: the program's record, and the rows it
// reads no field for asked of the socket itself with getsockopt, on own
// (a descriptor of this process) or, when own is -1, on a duplicate of
// the holder's.
func (e *Exact) imageOf(r *record, own int) (*image.Image, error) {
	return e.imageWith(r, own, stock.Duplicate)
}

// imageWith is imageOf with the duplicates made by dup.
func (e *Exact) imageWith(r *record, own int, dup func(pid, fd int) (int, error)) (*image.Image, error) {
	img, err := e.env.image(r)
	if err != nil {
		return nil, err
	}
	rows := askRows(img.Family, img.Type)
	if len(rows) == 0 {
		e.env.nameInterfaces(r, img)
		return img, nil
	}
	fd := own
	if own < 0 && r.Pid == 0 {
		// Unheld: no descriptor to ask a row with no Field (none today).
		return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: fmt.Errorf("%w; its %s options are asked with getsockopt, which needs a descriptor", &UnheldError{Inode: r.Inode}, rows[0].Dir)}
	}
	if own < 0 {
		if fd, err = dup(int(r.Pid), int(r.Fd)); err != nil {
			return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: dupError(err)}
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Ino != r.Inode {
			// The holder closed it and reused the number since the pass.
			return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: image.ErrNoSocket}
		}
	}
	if err := stock.ReadRows(fd, img, rows); err != nil {
		return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: err}
	}
	e.env.nameInterfaces(r, img)
	return img, nil
}

// dupError is a failed duplicate of a descriptor the pass saw: the holder
// closed it (EBADF) or exited (ESRCH) since, so the socket is gone from
// that process, which a dump reports as no socket (dump --all then checks
// a fresh listing) rather than as a failure.
func dupError(err error) error {
	if errors.Is(err, unix.EBADF) || errors.Is(err, unix.ESRCH) {
		return image.ErrNoSocket
	}
	return err
}
