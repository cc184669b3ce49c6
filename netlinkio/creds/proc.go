package creds

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Of reads the credentials of thread tid, whose uid and gid the caller
// already knows (FUSE gives them with every request): its supplementary
// groups and effective capabilities from /proc/<tid>/status.
//
// Capabilities count in the user namespace they were given in, and a
// thread wearing them here wears them in this process's. So a thread of
// another user namespace gets none: in a namespace it made itself
// (unshare -Ur) it may hold every capability, and none of them counts for
// a socket whose network namespace belongs to this one. Its uid still
// counts: the kernel grants the owner of a user namespace every capability
// inside it, and judges the wearing thread by the same rule.
func Of(tid int, uid, gid uint32) (Creds, error) {
	c := Creds{Uid: uid, Gid: gid}
	dir := "/proc/" + strconv.Itoa(tid)
	f, err := os.Open(dir + "/status")
	if err != nil {
		return c, err
	}
	defer f.Close()
	var groups, capEff string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Groups:"); ok {
			groups = v
		} else if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			capEff = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if capEff == "" {
		return c, fmt.Errorf("%s/status has no CapEff", dir)
	}
	for _, g := range strings.Fields(groups) {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return c, fmt.Errorf("%s/status: group %q: %w", dir, g, err)
		}
		c.Groups = append(c.Groups, uint32(n))
	}
	caps, err := strconv.ParseUint(capEff, 16, 64)
	if err != nil {
		return c, fmt.Errorf("%s/status: CapEff %q: %w", dir, capEff, err)
	}
	same, err := sameUserNS(dir)
	if err != nil {
		return c, err
	}
	if same {
		c.Caps = caps
	}
	return c, nil
}

// sameUserNS reports whether the process at dir is in this process's user
// namespace.
func sameUserNS(dir string) (bool, error) {
	theirs, err := os.Readlink(dir + "/ns/user")
	if err != nil {
		return false, err
	}
	ours, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		return false, err
	}
	return theirs == ours, nil
}
