// Package match pairs saved sockets with live ones by identity rather than
// by inode, which dies with its process: family, type, protocol, local
// address and port, peer, and where known the network namespace and the
// holder's cgroup. The holder's command name, then its fd number, break
// ties. A saved socket that no live socket has, or that more than one
// could be, is reported, never guessed. No system calls: the caller
// gathers both sides.
package match

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// Netns names a network namespace: by its inode, and by its name under
// /run/netns when it has one. The zero Netns is unknown.
type Netns struct {
	Inode uint64
	Name  string
}

// Same reports whether two namespaces are one: by name when both have
// one (a namespace made again under its name gets a new inode), else by
// inode. An unknown side matches anything.
func (n Netns) Same(o Netns) bool {
	if n.Name != "" && o.Name != "" {
		return n.Name == o.Name
	}
	if n.Inode != 0 && o.Inode != 0 {
		return n.Inode == o.Inode
	}
	return true
}

func (n Netns) String() string {
	s := "net:[" + strconv.FormatUint(n.Inode, 10) + "]"
	if n.Name != "" {
		s += " (" + n.Name + ")"
	}
	return s
}

// Identity is what a socket is known by across a restart. Fields a side
// does not know are zero, and a zero field matches anything.
type Identity struct {
	Family   uint16
	Type     uint16
	Protocol uint16
	Local    netip.AddrPort
	Peer     netip.AddrPort
	Netns    Netns
	// Cgroup is the holder's cgroup: a container's, since container
	// runtimes name their network namespaces at random.
	Cgroup string
}

// Socket is one side's socket: its identity and its holders. Inode is the
// live socket's (or the saved one's, for messages).
type Socket struct {
	Identity
	Inode   uint64
	Holders []image.Holder
}

// Outcome is how a saved socket fared.
type Outcome int

const (
	Matched Outcome = iota
	Unmatched
	Ambiguous
)

// Result is a saved socket's match: the live socket it matched, or the
// live sockets it could be, or why none.
type Result struct {
	Outcome Outcome
	Live    *Socket   // Matched
	Could   []*Socket // Ambiguous: the candidates
	Reason  string    // Unmatched and Ambiguous
}

// Match pairs each saved socket with the one live socket of the same
// identity. Where several live sockets have it, the holder's command name
// narrows them, then its fd number. A live socket that two saved ones
// would take is given to neither: both are ambiguous.
func Match(saved, live []Socket) []Result {
	out := make([]Result, len(saved))
	taken := map[uint64][]int{}
	for i := range saved {
		out[i] = matchOne(&saved[i], live)
		if out[i].Outcome == Matched {
			taken[out[i].Live.Inode] = append(taken[out[i].Live.Inode], i)
		}
	}
	for _, idx := range taken {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			others := slices.DeleteFunc(slices.Clone(idx), func(j int) bool { return j == i })
			var names []string
			for _, j := range others {
				names = append(names, "saved "+strconv.FormatUint(saved[j].Inode, 10))
			}
			out[i] = Result{Outcome: Ambiguous, Could: []*Socket{out[i].Live},
				Reason: fmt.Sprintf("live socket %d matches %s as well", out[i].Live.Inode, strings.Join(names, ", "))}
		}
	}
	return out
}

// matchOne finds a saved socket's live one.
func matchOne(s *Socket, live []Socket) Result {
	if unbound(s.Identity) {
		return Result{Outcome: Unmatched, Reason: whyNot(s, live)}
	}
	var cands []*Socket
	for i := range live {
		if same(s.Identity, live[i].Identity) {
			cands = append(cands, &live[i])
		}
	}
	if len(cands) == 0 {
		return Result{Outcome: Unmatched, Reason: whyNot(s, live)}
	}
	cands = narrow(cands, s.Holders, func(a, b image.Holder) bool { return a.Comm == b.Comm })
	cands = narrow(cands, s.Holders, func(a, b image.Holder) bool { return a.Comm == b.Comm && a.Fd == b.Fd })
	if len(cands) == 1 {
		return Result{Outcome: Matched, Live: cands[0]}
	}
	var names []string
	for _, c := range cands {
		names = append(names, Describe(c))
	}
	return Result{Outcome: Ambiguous, Could: cands,
		Reason: fmt.Sprintf("%d live sockets have its identity, and its holders' command names and fds do not tell them apart: %s", len(cands), strings.Join(names, "; "))}
}

// narrow keeps the candidates with a holder that agrees with a saved
// holder, if any does; otherwise it keeps them all.
func narrow(cands []*Socket, saved []image.Holder, agree func(a, b image.Holder) bool) []*Socket {
	var kept []*Socket
	for _, c := range cands {
		if slices.ContainsFunc(c.Holders, func(h image.Holder) bool {
			return slices.ContainsFunc(saved, func(s image.Holder) bool { return agree(s, h) })
		}) {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return cands
	}
	return kept
}

// same reports whether a live socket has the saved one's identity.
func same(s, l Identity) bool {
	return s.Family == l.Family && s.Type == l.Type && s.Protocol == l.Protocol &&
		s.Local == l.Local && s.Peer == l.Peer && s.Netns.Same(l.Netns) &&
		(s.Cgroup == "" || l.Cgroup == "" || s.Cgroup == l.Cgroup)
}

// whyNot says why no live socket matched: the nearest one (same
// protocol and port) and what differs, or that there is none.
func whyNot(s *Socket, live []Socket) string {
	what := fmt.Sprintf("no live %s socket on %s", image.SocketName(s.Type, s.Protocol), image.AddrPortString(s.Local))
	if unbound(s.Identity) {
		return what + ": it was not bound, and an unbound socket has no address to be told by"
	}
	for i := range live {
		l := &live[i]
		if l.Family != s.Family || l.Type != s.Type || l.Protocol != s.Protocol || l.Local.Port() != s.Local.Port() {
			continue
		}
		var diffs []string
		if l.Local != s.Local {
			diffs = append(diffs, "is bound to "+image.AddrPortString(l.Local))
		}
		if l.Peer != s.Peer {
			diffs = append(diffs, "has peer "+image.AddrPortString(l.Peer)+", not "+image.AddrPortString(s.Peer))
		}
		if !s.Netns.Same(l.Netns) {
			diffs = append(diffs, "is in network namespace "+l.Netns.String()+", not "+s.Netns.String())
		}
		if s.Cgroup != "" && l.Cgroup != "" && s.Cgroup != l.Cgroup {
			diffs = append(diffs, "is in cgroup "+l.Cgroup+", not "+s.Cgroup)
		}
		return fmt.Sprintf("%s (live socket %d %s)", what, l.Inode, strings.Join(diffs, " and "))
	}
	return what
}

// unbound reports whether a socket has no address to be told by: a
// UDP or TCP socket not bound (a raw one is known by its protocol).
func unbound(id Identity) bool {
	return id.Type != unix.SOCK_RAW && id.Local.Port() == 0 && id.Local.Addr().IsUnspecified()
}

// Describe names a live socket for a report: its inode and holders.
func Describe(l *Socket) string {
	s := strconv.FormatUint(l.Inode, 10)
	for i, h := range l.Holders {
		if i == 0 {
			s += " ("
		} else {
			s += ", "
		}
		s += fmt.Sprintf("%s pid %d fd %d", h.Comm, h.Pid, h.Fd)
		if i == len(l.Holders)-1 {
			s += ")"
		}
	}
	return s
}
