package nodes

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// Which sockets a lookup shows to whom (docs/security.md, "Sockets that
// are not listed"). The listing is sock_diag's, which ss shows to every
// user of the network namespace: a listed socket's number is everybody's
// name. A socket that sock_diag does not list (an unbound one, or one of
// another network namespace) is found through its holder, and /proc shows
// a process's descriptors only to a caller that may ptrace it for reading
// (PTRACE_MODE_READ_FSCREDS: its own uid, or CAP_SYS_PTRACE; a readlink of
// /proc/<pid>/fd/N needs that even with CAP_DAC_READ_SEARCH). So the tree
// answers a lookup of such a number only for such a caller, and for
// everyone else exactly as for a number that is no socket: ENOENT, before
// any dump, with no bookkeeping kept and no log record. The kernel keeps
// a positive entry for every user, so the entry of a socket not known to
// be listed is given with no entry timeout: every path walk through it
// asks the tree again, as the caller who walks.

// probe decides a lookup of socket ino by the request's caller: listed
// reports whether ino is in a fresh listing, so that its entry may be
// cached; ENOENT says that the caller may not learn that it exists. A
// number no process holds passes, for Tree.sock to answer.
func (t *Tree) probe(ctx context.Context, ino uint64) (listed bool, e syscall.Errno) {
	if t.listed(ino, false) {
		return true, 0
	}
	hs, err := t.b.Holders(ino)
	if err != nil || len(hs) == 0 {
		return false, 0
	}
	if seesHolder(ctx, ino, hs) {
		return false, 0
	}
	// Not the caller's: it is a name only if ss shows it, which a
	// listing at most Config.CacheTTL old tells.
	if t.listed(ino, true) {
		return true, 0
	}
	return false, syscall.ENOENT
}

// seesHolder says whether the caller may read the descriptors of one of
// the socket's holders hs in /proc, or has CAP_SYS_PTRACE: then the
// socket's number is a name to it, listed or not.
func seesHolder(ctx context.Context, ino uint64, hs []image.Holder) bool {
	uid, gid := uint32(nobody), uint32(nobody)
	if fc, ok := fuse.FromContext(ctx); ok {
		uid, gid = fc.Uid, fc.Gid
	}
	for _, h := range hs {
		if mayReadFds(uid, gid, h.Pid, h.Fd, ino) {
			return true
		}
	}
	return caller(ctx).Has(unix.CAP_SYS_PTRACE)
}

// mayList says whether a socket of the listing is the caller's to see
// in the root's listing: every socket a sock_diag table holds, and an
// unlisted one (unbound) only for a caller who sees one of its holders.
func (t *Tree) mayList(ctx context.Context, s image.Socket) bool {
	if !s.Unlisted {
		return true
	}
	if caller(ctx).Has(unix.CAP_SYS_PTRACE) {
		return true
	}
	hs, err := t.b.Holders(s.Inode)
	return err == nil && seesHolder(ctx, s.Inode, hs)
}

// listed reports whether ino is in a fresh listing; with list set, the
// tree lists if its listing is not fresh.
func (t *Tree) listed(ino uint64, list bool) bool {
	var l *listing
	if list {
		var err error
		if l, err = t.listing(false); err != nil {
			return false
		}
	} else {
		t.mu.Lock()
		l = t.list
		t.mu.Unlock()
		if l == nil || !t.fresh(l.at) {
			return false
		}
	}
	s, ok := l.find(ino)
	return ok && !s.Unlisted
}

// mayReadFds reports whether a caller with fsuid uid and fsgid gid, and
// no capability, may read process pid's descriptor fd, socket ino, in
// /proc (ptrace_may_access with PTRACE_MODE_READ_FSCREDS): pid's real,
// effective and saved uids are uid and its gids gid, and it is dumpable,
// which /proc shows by making /proc/<pid> belong to its effective uid and
// gid (to root when it is not). The descriptor must still be the socket,
// so that a holder index entry whose pid was reused by one of the
// caller's processes lends nothing.
func mayReadFds(uid, gid uint32, pid, fd int, ino uint64) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil || st.Uid != uid || st.Gid != gid {
		return false
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil || !sameIDs(status, uid, gid) {
		return false
	}
	link, err := os.Readlink(dir + "/fd/" + strconv.Itoa(fd))
	return err == nil && link == "socket:["+strconv.FormatUint(ino, 10)+"]"
}

// sameIDs reports whether a /proc/<pid>/status gives uid as the real,
// effective and saved uid and gid as the real, effective and saved gid
// (the first three fields of its Uid and Gid lines; the fourth, the
// filesystem id, does not count for ptrace).
func sameIDs(status []byte, uid, gid uint32) bool {
	var okUID, okGID bool
	for line := range bytes.Lines(status) {
		key, rest, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		switch string(key) {
		case "Uid":
			okUID = firstThree(rest, uid)
		case "Gid":
			okGID = firstThree(rest, gid)
		}
	}
	return okUID && okGID
}

// firstThree reports whether the first three fields of ids are all id.
func firstThree(ids []byte, id uint32) bool {
	f := bytes.Fields(ids)
	if len(f) < 3 {
		return false
	}
	want := strconv.FormatUint(uint64(id), 10)
	for _, x := range f[:3] {
		if string(x) != want {
			return false
		}
	}
	return true
}
