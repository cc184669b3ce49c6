// Package netns finds the network namespaces of the host and runs code
// inside one of them. A network namespace is named by the inode of its nsfs
// file (net:[INODE]); the engine reaches one through a process in it
// (/proc/PID/ns/net) or through a name `ip netns add` mounted under
// /run/netns.
package netns

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// RunDir is where `ip netns add` mounts the namespaces it names.
const RunDir = "/run/netns"

// Ino returns the inode of the namespace file at path: the namespace's
// identity, as readlink of /proc/PID/ns/net shows it (net:[INODE]).
func Ino(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// InoOf is Ino of an open namespace file.
func InoOf(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

var self struct {
	once sync.Once
	fd   int // the server's own namespace, open for as long as it runs
	ino  uint64
	err  error
}

func openSelf() {
	self.fd, self.err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if self.err == nil {
		self.ino, self.err = InoOf(self.fd)
	}
}

// Self returns the inode of the server's own network namespace (that of
// its main thread, which every thread shares except inside Run).
func Self() (uint64, error) {
	self.once.Do(openSelf)
	return self.ino, self.err
}

// Of returns a descriptor of a socket's own network namespace
// (SIOCGSKNS), which may differ from its holder's: a process may make a
// socket in one namespace and then move to another. The caller closes it.
func Of(sockfd int) (int, error) {
	fd, err := unix.IoctlRetInt(sockfd, unix.SIOCGSKNS)
	if err != nil {
		return -1, fmt.Errorf("SIOCGSKNS: %w", err)
	}
	return fd, nil
}

// Run calls fn on an OS thread that has entered the namespace nsfd, and
// then leaves it. What fn makes there stays in that namespace: a socket
// (a sock_diag or route socket, a scratch socket for a route check) keeps
// the namespace it was made in, and a file of /proc/thread-self/net keeps
// describing it. The thread is locked for the call; if it cannot go back
// to the server's namespace it stays locked, so the runtime ends it with
// its goroutine and no other code ever runs in the wrong namespace.
func Run(nsfd int, fn func() error) error {
	self.once.Do(openSelf)
	if self.err != nil {
		return fmt.Errorf("own network namespace: %w", self.err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		err := fn()
		if berr := unix.Setns(self.fd, unix.CLONE_NEWNET); berr != nil {
			errc <- fmt.Errorf("setns back: %w", berr) // the thread dies locked
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// RunAt is Run in the namespace whose file is path (/proc/PID/ns/net,
// /run/netns/NAME), which must still be the namespace ino: a pid reused
// by a process of another namespace gives ESRCH rather than the wrong
// namespace's answer.
func RunAt(path string, ino uint64, fn func() error) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if got, err := InoOf(fd); err != nil || got != ino {
		return unix.ESRCH
	}
	return Run(fd, fn)
}

// Namespace is one network namespace the server can reach.
type Namespace struct {
	Ino  uint64
	Path string // a file that opens it: /proc/PID/ns/net or /run/netns/NAME
	Name string // its name under /run/netns, "" when none
}

// List returns every network namespace that a process is in or that has a
// name under /run/netns, each once, in the order first found: the
// server's own first, then named ones, then by pid. A process that exits
// during the walk is skipped.
func List() ([]Namespace, error) {
	own, err := Self()
	if err != nil {
		return nil, err
	}
	out := []Namespace{{Ino: own, Path: "/proc/self/ns/net"}}
	at := map[uint64]int{own: 0}
	add := func(n Namespace) {
		if i, ok := at[n.Ino]; ok {
			if out[i].Name == "" {
				out[i].Name = n.Name
			}
			return
		}
		at[n.Ino] = len(out)
		out = append(out, n)
	}
	for name, ino := range Names() {
		add(Namespace{Ino: ino, Path: RunDir + "/" + name, Name: name})
	}
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 64)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		path := "/proc/" + name + "/ns/net"
		n, err := unix.Readlink(path, buf)
		if err != nil {
			continue // exited, or a kernel thread
		}
		ino, ok := parseLink(buf[:n])
		if !ok {
			continue
		}
		if _, seen := at[ino]; !seen {
			add(Namespace{Ino: ino, Path: path})
		}
	}
	return out, nil
}

// parseLink reads "net:[4026531840]".
func parseLink(b []byte) (uint64, bool) {
	const pre = "net:["
	if len(b) < len(pre)+2 || string(b[:len(pre)]) != pre || b[len(b)-1] != ']' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[len(pre):len(b)-1]), 10, 64)
	return n, err == nil
}

// Names maps the names under /run/netns to their namespaces' inodes. A
// name whose file is not a mounted namespace (left behind by a crash) is
// skipped.
func Names() map[string]uint64 {
	ents, err := os.ReadDir(RunDir)
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	for _, e := range ents {
		var st unix.Statfs_t
		p := RunDir + "/" + e.Name()
		if unix.Statfs(p, &st) != nil || st.Type != unix.NSFS_MAGIC {
			continue
		}
		if ino, err := Ino(p); err == nil {
			out[e.Name()] = ino
		}
	}
	return out
}

// NameOf returns the name under /run/netns of the namespace ino, or "".
func NameOf(ino uint64) string {
	for name, i := range Names() {
		if i == ino {
			return name
		}
	}
	return ""
}

// String is the namespace as /proc/PID/ns/net's link reads: net:[INODE].
func String(ino uint64) string { return "net:[" + strconv.FormatUint(ino, 10) + "]" }
