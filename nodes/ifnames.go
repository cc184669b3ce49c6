package nodes

import (
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// A membership file is named GROUP@IFNAME, IFNAME being the interface's
// name in the socket's own network namespace: a container's eth0 is not
// the host's. A backend that can list a socket's interfaces
// (interfaceLister: the stock engine, through the socket's namespace)
// names them; with another, the mount's namespace does.
type interfaceLister interface {
	Interfaces(inode uint64) ([]image.Interface, error)
}

// ifnames maps the interface indexes of one namespace to names.
type ifnames map[int32]string

// name is the interface's name, or its index when it has none (any more).
func (m ifnames) name(ifindex int32) string {
	if n, ok := m[ifindex]; ok {
		return n
	}
	return strconv.Itoa(int(ifindex))
}

// index finds an interface by its name, or by its index written in
// decimal.
func (m ifnames) index(name string) (int32, string, bool) {
	for i, n := range m {
		if n == name {
			return i, n, true
		}
	}
	if i, err := strconv.Atoi(name); err == nil && i > 0 {
		if n, ok := m[int32(i)]; ok {
			return int32(i), n, true
		}
	}
	return 0, "", false
}

// ifCache keeps each socket's interface names for the tree's TTL, so that
// the lookups of a tar of membership files do not each enter the socket's
// namespace.
type ifCache struct {
	mu sync.Mutex
	by map[uint64]ifCached
}

type ifCached struct {
	names ifnames
	at    time.Time
}

// interfaceNames names the interfaces of the socket ino's namespace.
func (t *Tree) interfaceNames(ino uint64) ifnames {
	b, ok := t.b.(interfaceLister)
	if !ok {
		return mountInterfaceNames()
	}
	t.ifs.mu.Lock()
	if c, ok := t.ifs.by[ino]; ok && t.fresh(c.at) {
		t.ifs.mu.Unlock()
		return c.names
	}
	t.ifs.mu.Unlock()
	ifs, err := b.Interfaces(ino)
	if err != nil {
		return ifnames{}
	}
	m := make(ifnames, len(ifs))
	for _, i := range ifs {
		m[i.Index] = i.Name
	}
	t.ifs.mu.Lock()
	if t.ifs.by == nil || len(t.ifs.by) > 4096 {
		t.ifs.by = map[uint64]ifCached{}
	}
	t.ifs.by[ino] = ifCached{m, time.Now()}
	t.ifs.mu.Unlock()
	return m
}

// imageNames names the interfaces of an image: as its dump named them in
// the socket's namespace, and those it did not name as the namespace does
// now.
func (t *Tree) imageNames(ino uint64, img *image.Image) ifnames {
	m := ifnames{}
	missing := false
	for _, i := range img.Ifindexes() {
		if n, ok := img.Ifnames[i]; ok {
			m[i] = n
		} else {
			missing = true
		}
	}
	if missing {
		for i, n := range t.interfaceNames(ino) {
			if _, ok := m[i]; !ok {
				m[i] = n
			}
		}
	}
	return m
}

// mountInterfaceNames names the interfaces of the mount's own namespace.
func mountInterfaceNames() ifnames {
	m := ifnames{}
	ifs, err := net.Interfaces()
	if err != nil {
		return m
	}
	for _, ifi := range ifs {
		m[int32(ifi.Index)] = ifi.Name
	}
	return m
}
