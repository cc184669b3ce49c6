package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/inetcr/inetcr/internal/match"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// The live side of restore --match: the sockets listed now, with their
// holders, each holder's network namespace and cgroup, and the
// interfaces of that namespace, by name.

// liveFilter narrows the live sockets a saved one may match: --pid,
// --comm, --netns.
type liveFilter struct {
	pid   int
	comm  string
	netns uint64 // 0: any
}

// keep reports whether a live socket held by hs in namespace ns passes.
func (f liveFilter) keep(hs []image.Holder, ns uint64) bool {
	if f.netns != 0 && ns != f.netns {
		return false
	}
	for _, h := range hs {
		if (f.pid == 0 || h.Pid == f.pid) && (f.comm == "" || h.Comm == f.comm) {
			return true
		}
	}
	return false
}

// liveSide caches what it learns of processes and namespaces for one run.
type liveSide struct {
	b       netlinkio.Backend
	filter  liveFilter
	where   map[int]procWhere     // by pid
	names   map[uint64]string     // namespace inode -> name under /run/netns
	ifaces  map[uint64]interfaces // by namespace inode
	selfNet uint64
}

// procWhere is where a process lives.
type procWhere struct {
	netns  uint64
	cgroup string
}

// interfaces are a namespace's interfaces, both ways.
type interfaces struct {
	byName  map[string]int32
	byIndex map[int32]string
}

func newLiveSide(b netlinkio.Backend, f liveFilter) *liveSide {
	self, _ := nsInode("/proc/self/ns/net")
	return &liveSide{b: b, filter: f, where: map[int]procWhere{}, ifaces: map[uint64]interfaces{}, names: runNetnsNames(), selfNet: self}
}

// sockets lists the live sockets that could match the saved ones: those
// of a protocol and port some saved socket has (so that a listing of
// many sockets costs one holder lookup for each of the few that could
// match), with their holders and where those live.
func (l *liveSide) sockets(saved []match.Socket) ([]match.Socket, error) {
	list, err := l.b.List()
	if err != nil {
		return nil, err
	}
	type key struct {
		typ, proto, port uint16
	}
	want := map[key]bool{}
	for _, s := range saved {
		want[key{s.Type, s.Protocol, s.Local.Port()}] = true
	}
	var out []match.Socket
	for _, s := range list {
		if !want[key{s.Type, s.Protocol, s.Local.Port()}] {
			continue
		}
		hs, err := l.b.Holders(s.Inode)
		if errors.Is(err, syscall.ENOENT) {
			continue // closed since the listing, or held by no process we may see
		}
		if err != nil {
			return nil, err
		}
		var w procWhere
		if len(hs) > 0 {
			w = l.whereIs(hs[0].Pid)
		}
		if !l.filter.keep(hs, w.netns) {
			continue
		}
		out = append(out, match.Socket{Inode: s.Inode, Holders: hs, Identity: match.Identity{
			Family: unix.AF_INET, Type: s.Type, Protocol: s.Protocol, Local: s.Local, Peer: s.Peer,
			Netns: match.Netns{Inode: w.netns, Name: l.names[w.netns]}, Cgroup: w.cgroup}})
	}
	return out, nil
}

// whereIs reads a process's network namespace and cgroup.
func (l *liveSide) whereIs(pid int) procWhere {
	if w, ok := l.where[pid]; ok {
		return w
	}
	var w procWhere
	w.netns, _ = nsInode(fmt.Sprintf("/proc/%d/ns/net", pid))
	w.cgroup = cgroupOf(pid)
	l.where[pid] = w
	return w
}

// interfacesOf lists the interfaces of the network namespace process pid
// lives in: a saved membership's interface is looked up there by name.
func (l *liveSide) interfacesOf(pid int) (interfaces, error) {
	ns := l.whereIs(pid).netns
	if ifs, ok := l.ifaces[ns]; ok {
		return ifs, nil
	}
	var list []net.Interface
	var err error
	if ns == l.selfNet {
		list, err = net.Interfaces()
	} else {
		list, err = interfacesIn(pid)
	}
	if err != nil {
		return interfaces{}, fmt.Errorf("interfaces of the network namespace of pid %d: %w", pid, err)
	}
	ifs := interfaces{byName: map[string]int32{}, byIndex: map[int32]string{}}
	for _, i := range list {
		ifs.byName[i.Name] = int32(i.Index)
		ifs.byIndex[int32(i.Index)] = i.Name
	}
	l.ifaces[ns] = ifs
	return ifs, nil
}

// interfacesIn lists the interfaces of another process's network
// namespace from a thread that enters it. The thread is never given back
// to the runtime (it ends with its goroutine), so no other goroutine ever
// runs in that namespace.
func interfacesIn(pid int) ([]net.Interface, error) {
	type result struct {
		list []net.Interface
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		list, err := net.Interfaces()
		done <- result{list, err}
	}()
	r := <-done
	return r.list, r.err
}

// nsInode is the inode of a namespace file (/proc/PID/ns/net,
// /run/netns/NAME).
func nsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// runNetnsNames maps the namespaces named under /run/netns (ip netns add)
// to their names.
func runNetnsNames() map[uint64]string {
	names := map[uint64]string{}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if ino, err := nsInode(filepath.Join("/run/netns", e.Name())); err == nil {
			names[ino] = e.Name()
		}
	}
	return names
}

// cgroupOf is a process's cgroup: the unified hierarchy's path ("0::"),
// or else the first hierarchy's.
func cgroupOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	first := ""
	for line := range strings.Lines(string(b)) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			return f[2]
		}
		if first == "" {
			first = f[2]
		}
	}
	return first
}

// netnsArg reads --netns: "self", a name under /run/netns, or a path to a
// namespace file (/proc/PID/ns/net).
func netnsArg(s string) (uint64, error) {
	p := s
	switch {
	case s == "":
		return 0, nil
	case s == "self":
		p = "/proc/self/ns/net"
	case !strings.Contains(s, "/"):
		p = "/run/netns/" + s
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return 0, fmt.Errorf("--netns %s: %w", s, err)
	}
	if st.Type != unix.NSFS_MAGIC {
		return 0, fmt.Errorf("--netns %s: %s is not a namespace file", s, p)
	}
	return nsInode(p)
}
