package exact

import "github.com/inetcr/inetcr/netlinkio/image"

// What the tree asks of a socket besides its image: where it lives and how
// it is doing. The pass knows the namespace; the rest is asked of the
// socket itself through the stock engine, on a duplicate.

// LimitNetns makes List list one network namespace (by the inode of its
// nsfs file); 0 lists every one.
func (e *Exact) LimitNetns(ino uint64) { e.only.Store(ino) }

// Netns is the inode of the socket's network namespace: SIOCGSKNS on a
// duplicate, as the stock engine asks it (a lookup in a tree of one
// namespace asks it of each socket it meets, before the socket's first
// dump), else, for a socket no task holds or one the stock engine's
// holder index does not know yet, from its record (recordOf).
func (e *Exact) Netns(inode uint64) (uint64, error) {
	if ns, err := e.stock.Netns(inode); err == nil {
		return ns, nil
	}
	r, err := e.recordOf(inode)
	if err != nil {
		return 0, &image.OpError{Op: "netns", Inode: inode, Err: err}
	}
	return r.Netns, nil
}

// Interfaces lists the interfaces of the socket's own network namespace.
func (e *Exact) Interfaces(inode uint64) ([]image.Interface, error) {
	return e.stock.Interfaces(inode)
}

// Meminfo is the socket's memory use (SO_MEMINFO).
func (e *Exact) Meminfo(inode uint64) (image.Meminfo, error) { return e.stock.Meminfo(inode) }
