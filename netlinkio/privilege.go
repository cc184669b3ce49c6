package netlinkio

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
	"golang.org/x/sys/unix"
)

// inetcr runs as root and could change any socket; it must not lend that
// power. Before a change it works out which capabilities the kernel would
// ask of the socket's owner for that change and refuses, with EPERM, a
// caller whose effective set lacks them.

// Caller is the process on whose behalf a change is made.
type Caller struct {
	Pid  int
	Uid  uint32
	Caps uint64 // effective capabilities, bit n = capability n
	Comm string
}

// CallerOf reads a process's identity and effective capabilities from
// /proc/<pid>/status, as the kernel would judge its own setsockopt.
func CallerOf(pid int, uid uint32) (Caller, error) {
	c := Caller{Pid: pid, Uid: uid, Comm: procfs.Comm(pid)}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return c, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			c.Caps, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return c, err
		}
	}
	return c, fmt.Errorf("/proc/%d/status has no CapEff", pid)
}

// Has reports whether the caller has any of the capabilities.
func (c Caller) Has(caps ...int) bool {
	for _, cp := range caps {
		if c.Caps&(1<<uint(cp)) != 0 {
			return true
		}
	}
	return false
}

// need is one privilege a change asks for.
type need struct {
	what string // "sockopt/mark", "bind to port 80"
	caps []int  // any one of them suffices
}

func capName(cp int) string {
	switch cp {
	case unix.CAP_NET_ADMIN:
		return "CAP_NET_ADMIN"
	case unix.CAP_NET_RAW:
		return "CAP_NET_RAW"
	case unix.CAP_NET_BIND_SERVICE:
		return "CAP_NET_BIND_SERVICE"
	}
	return "capability " + strconv.Itoa(cp)
}

// needs lists the privileges the kernel asks for to turn before into want:
// each changed row's Needs rule, and CAP_NET_BIND_SERVICE for binding a
// port below ip_unprivileged_port_start.
func needs(before, want *image.Image) []need {
	var out []need
	for _, o := range image.OptionsFor(want.Type) {
		old, nw := before.Values[o.Attr], want.Values[o.Attr]
		if o.Needs == nil || old.Equal(nw) || (o.Needs.When != nil && !o.Needs.When(old, nw, sysctlOf(o.Needs))) {
			continue
		}
		out = append(out, need{o.Path() + o.Needs.Why, o.Needs.Caps})
	}
	if before.Unbound() && !want.Unbound() && want.Type != unix.SOCK_RAW {
		if p := uint64(want.Local.Port()); p != 0 && p < sysctlUint("/proc/sys/net/ipv4/ip_unprivileged_port_start") {
			out = append(out, need{fmt.Sprintf("bind to port %d", p), []int{unix.CAP_NET_BIND_SERVICE}})
		}
	}
	return out
}

// sysctlOf reads the sysctl a rule compares with, 0 for a rule without one.
func sysctlOf(p *image.Privilege) uint64 {
	if p.Sysctl == "" {
		return 0
	}
	return sysctlUint("/proc/sys/" + p.Sysctl)
}

func sysctlUint(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// PrivilegeError is a change refused because the caller lacks a
// capability; it unwraps to EPERM.
type PrivilegeError struct {
	What string
	Caps []int
}

func (e *PrivilegeError) Error() string {
	names := make([]string, len(e.Caps))
	for i, c := range e.Caps {
		names[i] = capName(c)
	}
	return e.What + " needs " + strings.Join(names, " or ")
}

func (e *PrivilegeError) Unwrap() error { return syscall.EPERM }

// Allow returns nil if the caller may turn before into want, and a
// *PrivilegeError naming the first thing it may not do otherwise. It is a
// Guard.
func (c Caller) Allow(before, want *image.Image) error {
	for _, n := range needs(before, want) {
		if !c.Has(n.caps...) {
			return &PrivilegeError{What: n.what, Caps: n.caps}
		}
	}
	return nil
}

// AccessError is a caller refused a socket it does not own; it unwraps to
// EACCES, what the kernel says for a file whose mode shuts the caller out.
type AccessError struct {
	Uid   uint32 // the caller's
	Owner uint32 // the socket's
}

func (e *AccessError) Error() string {
	return "uid " + strconv.FormatUint(uint64(e.Uid), 10) + " may not use a socket of uid " + strconv.FormatUint(uint64(e.Owner), 10)
}

func (e *AccessError) Unwrap() error { return syscall.EACCES }

// MayUse returns nil if the caller may read (or, with write, change) a
// socket owned by owner, and an *AccessError otherwise. The rule is the one
// the kernel applies to the tree's owner-only modes: the owner, or a caller
// with CAP_DAC_OVERRIDE (CAP_DAC_READ_SEARCH suffices to read). The tree
// repeats it so that it holds even where the kernel's check is bypassed.
func (c Caller) MayUse(owner uint32, write bool) error {
	if c.Uid == owner || c.Has(unix.CAP_DAC_OVERRIDE) || !write && c.Has(unix.CAP_DAC_READ_SEARCH) {
		return nil
	}
	return &AccessError{Uid: c.Uid, Owner: owner}
}
