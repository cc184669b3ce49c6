package procfs

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// scanProc walks /proc/<pid>/fd of every process and returns the holders
// of each socket inode, by pid then fd. The processes are read in
// parallel: with tens of thousands of sockets the walk is one readlink per
// descriptor, and a dump of every socket waits for it.
func scanProc() map[uint64][]Ref {
	idx := map[uint64][]Ref{}
	pids := procPids()
	found := make([][]fdSocket, len(pids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(2*runtime.GOMAXPROCS(0), len(pids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dents, link := make([]byte, 32<<10), make([]byte, 64)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pids) {
					return
				}
				found[i] = socketFds(pids[i], dents, link)
			}
		}()
	}
	wg.Wait()
	for i, fds := range found {
		for _, f := range fds {
			idx[f.inode] = append(idx[f.inode], Ref{pids[i], f.fd})
		}
	}
	for ino := range idx {
		slices.SortFunc(idx[ino], func(a, b Ref) int {
			if a.Pid != b.Pid {
				return a.Pid - b.Pid
			}
			return a.Fd - b.Fd
		})
	}
	return idx
}

// procPids lists the processes in /proc.
func procPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

type fdSocket struct {
	fd    int
	inode uint64
}

// socketFds returns the socket descriptors of pid, reading the directory
// into dents and each link into link.
func socketFds(pid int, dents, link []byte) []fdSocket {
	dfd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dfd)
	var out []fdSocket
	var names []string
	for {
		n, err := unix.Getdents(dfd, dents)
		if err != nil || n <= 0 {
			return out
		}
		_, _, names = unix.ParseDirent(dents[:n], -1, names[:0])
		for _, name := range names {
			k, err := unix.Readlinkat(dfd, name, link)
			if err != nil {
				continue
			}
			if ino, ok := socketInode(link[:k]); ok {
				fd, _ := strconv.Atoi(name)
				out = append(out, fdSocket{fd, ino})
			}
		}
	}
}

// socketInode parses a /proc/<pid>/fd link: "socket:[12345]".
func socketInode(link []byte) (uint64, bool) {
	const prefix = "socket:["
	if len(link) < len(prefix)+2 || string(link[:len(prefix)]) != prefix || link[len(link)-1] != ']' {
		return 0, false
	}
	ino, err := strconv.ParseUint(string(link[len(prefix):len(link)-1]), 10, 64)
	return ino, err == nil
}
