package nodes

import (
	"slices"
	"time"
)

// Prune bounds what the mount keeps for the sockets the kernel has looked
// up. The kernel keeps every dentry it was given until memory runs short,
// and go-fuse keeps a node for each until the kernel forgets it: a tar of
// 10,000 sockets would otherwise hold 440,000 nodes (about 600 MB) for the
// life of the mount. When more than keep socket directories are known to
// the kernel, Prune has it drop those not used for idle, least recently
// used first, until keep are left; the kernel then forgets their files
// (FORGET), and go-fuse and the garbage collector free them. A socket
// pruned is looked up again, and its files read from the tree again, the
// next time it is used. Call it from outside any FUSE request: the kernel
// takes the root's lock to drop an entry. It returns how many sockets it
// pruned.
func (t *Tree) Prune(keep int, idle time.Duration) int {
	t.mu.Lock()
	root := t.rootNode
	t.mu.Unlock()
	if root == nil {
		return 0
	}
	children := root.Children()
	if len(children) <= keep {
		return 0
	}
	type known struct {
		name string
		used time.Time
	}
	now := time.Now()
	var idleDirs []known
	t.mu.Lock()
	for name := range children {
		var used time.Time
		if ino, ok := parseInode(name); ok && t.socks[ino] != nil {
			used = t.socks[ino].checked
		}
		if now.Sub(used) >= idle {
			idleDirs = append(idleDirs, known{name, used})
		}
	}
	t.mu.Unlock()
	slices.SortFunc(idleDirs, func(a, b known) int { return a.used.Compare(b.used) })
	n := min(len(children)-keep, len(idleDirs))
	for _, d := range idleDirs[:n] {
		root.NotifyEntry(d.name)
	}
	return n
}
