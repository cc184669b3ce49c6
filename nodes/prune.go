package nodes

import (
	"slices"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
)

// Prune bounds what the mount keeps for the sockets the kernel has looked
// up. The kernel keeps every dentry it was given until memory runs short,
// and go-fuse keeps a node for each until the kernel forgets it: some 27 KB
// per socket directory whose files were all looked up (a heap profile after
// a tar; docs/performance.md), so that a tar of 100,000 sockets would
// otherwise hold 4.4 million nodes. Prune has the kernel drop socket
// directories, least recently used first:
//   - while more than keep are known to the kernel, those not used for
//     idle;
//   - while more than max are known (max > 0), whatever their idle time,
//     down to max: a tar of a big tree lets go of the sockets it finished
//     with while it runs, not two minutes later.
//
// The kernel then forgets their files (FORGET), and go-fuse and the
// garbage collector free them. A socket pruned is looked up again, and its
// files read from the tree again, the next time it is used; the tree keeps
// what it must of it (freeze) so that nothing about it changes. Call it
// from outside any FUSE request: the kernel takes the root's lock to drop
// an entry. It returns how many sockets it pruned.
func (t *Tree) Prune(keep, max int, idle time.Duration) int {
	t.mu.Lock()
	root := t.rootNode
	t.mu.Unlock()
	if root == nil {
		return 0
	}
	children := root.Children()
	defer t.freezeIdle(children)
	if len(children) <= keep && (max <= 0 || len(children) <= max) {
		return 0
	}
	type known struct {
		name string
		used time.Time
		s    *sock
	}
	now := time.Now()
	dirs := make([]known, 0, len(children))
	t.mu.Lock()
	for name := range children {
		d := known{name: name}
		if ino, ok := parseInode(name); ok && t.socks[ino] != nil {
			d.s = t.socks[ino]
			d.used = d.s.checked
		}
		dirs = append(dirs, d)
	}
	t.mu.Unlock()
	slices.SortFunc(dirs, func(a, b known) int { return a.used.Compare(b.used) })
	n := 0
	if max > 0 && len(dirs) > max {
		n = len(dirs) - max
	}
	for n < len(dirs)-keep && now.Sub(dirs[n].used) >= idle {
		n++
	}
	for _, d := range dirs[:n] {
		root.NotifyEntry(d.name)
		if d.s != nil {
			d.s.freeze()
		}
	}
	return n
}

// freezeIdle puts the bookkeeping of the sockets the kernel holds no
// directory of (children, the root's), and that were not used within the
// TTL, in its compact form (sock.freeze); it also drops the dumps cached
// longer than the TTL, which no one may use any more.
func (t *Tree) freezeIdle(children map[string]*fs.Inode) {
	held := make(map[uint64]bool, len(children))
	for name := range children {
		if ino, ok := parseInode(name); ok {
			held[ino] = true
		}
	}
	now := time.Now()
	var cold, stale []*sock
	t.mu.Lock()
	for ino, s := range t.socks {
		if s.frozen.Load() || now.Sub(s.checked) < t.ttl {
			continue
		}
		if held[ino] {
			stale = append(stale, s)
		} else {
			cold = append(cold, s)
		}
	}
	t.mu.Unlock()
	for _, s := range cold {
		s.freeze()
	}
	for _, s := range stale {
		s.dropStaleImage()
	}
}
