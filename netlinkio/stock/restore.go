package stock

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// A restore is a plan of steps, each a kernel call with its inverse. The
// steps run in order; when one fails, the inverses of those that ran are
// run backwards, so the socket is left as it was. Only bind cannot be
// undone, so it runs after every step that can fail for reasons the plan
// cannot check first.
type step struct {
	name string
	// do makes the change, on the thread that wears the caller: the
	// kernel judges it.
	do func() error
	// check, when set, runs on the server's thread after do: it puts back
	// the side effects do must not have and reads the result back. A
	// failed check leaves do's change made, so the step is undone too.
	check func() error
	undo  func() error // nil: nothing to undo
}

// Restore makes the socket's state equal to the image's, as this process:
// Hold, then one Update that wants img.
func (s *Stock) Restore(inode uint64, img *image.Image) error {
	if err := img.Validate(); err != nil {
		return &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	h, err := s.hold(inode)
	if err != nil {
		return &image.OpError{Op: "restore", Inode: inode, Err: err}
	}
	defer h.Close()
	return h.Update(nil, func(*image.Image) (*image.Image, error) { return img, nil })
}

func (s *Stock) fault(call string) error {
	if s.Fault == nil {
		return nil
	}
	return s.Fault(call)
}

// plan lists the steps that turn before into want. Identity must match;
// options and memberships change both ways; an unbound socket is bound; a
// datagram socket is connected or disconnected; a TCP socket may be put in
// LISTEN, but no other TCP state change can be made from outside.
func plan(fd, netns int, before, want *image.Image) ([]step, error) {
	if err := sameIdentity(before, want); err != nil {
		return nil, err
	}
	var plan, last, atBind []step
	binds := before.Unbound() && !want.Unbound()
	for _, o := range image.OptionsFor(want.Family, want.Type) {
		if !want.Knows(o) || o.Follows(before, want) {
			continue // a row newer than the image, one its reader cannot see, or one that follows: left as the socket has it
		}
		if p := o.Paired(); p != nil && want.Knows(p) {
			continue // set in one call with p, below
		}
		if o.With != 0 {
			if st, ok := pairStep(fd, o, before, want); ok {
				plan = append(plan, st)
			}
			continue
		}
		o, old, nv := o, before.Values[o.Attr], want.Values[o.Attr]
		if err := oneWay(o, before, want); err != nil {
			return nil, err
		}
		if old.Equal(nv) {
			continue
		}
		switch {
		case o.UnboundOnly && !before.Unbound():
			return nil, image.AttrErrorf(o.Attr, "cannot change from %s to %s: the socket is bound (%s), and the kernel changes %s only before bind", o.Format(old), o.Format(nv), image.AddrPortString(before.Local), o.Path())
		case o.UnboundOnly && binds:
			atBind = append(atBind, setStep(fd, o, old, nv))
		case o.OneWay:
			last = append(last, lastStep(setStep(fd, o, old, nv)))
		default:
			plan = append(plan, setStep(fd, o, old, nv))
		}
	}
	plan = append(plan, membershipSteps(fd, before, want)...)
	tail, err := addressSteps(fd, netns, before, want, atBind)
	if err != nil {
		return nil, err
	}
	return append(append(plan, tail...), last...), nil
}

func sameIdentity(before, want *image.Image) error {
	if before.Family != want.Family {
		return image.AttrErrorf(image.AttrFamily, "image is %s, socket is %s: a restore never changes a socket's family", image.FamilyName(want.Family), image.FamilyName(before.Family))
	}
	if before.Type != want.Type {
		return image.AttrErrorf(image.AttrType, "image is %s, socket is %s", image.TypeName(want.Type), image.TypeName(before.Type))
	}
	if before.Protocol != want.Protocol {
		return image.AttrErrorf(image.AttrProtocol, "image is protocol %d, socket is %d", want.Protocol, before.Protocol)
	}
	return nil
}

// membershipSteps leaves extra groups first (freeing room under
// igmp_max_memberships), then changes filters, then joins missing groups.
func membershipSteps(fd int, before, want *image.Image) []step {
	var leaves, filters, joins []step
	for _, m := range before.Memberships {
		m := m
		n, keep := want.Membership(m.Key())
		switch {
		case !keep:
			leaves = append(leaves, step{
				name: fmt.Sprintf("leave %s on ifindex %d", m.Group, m.Ifindex),
				do:   func() error { return leave(fd, m.Key()) },
				undo: func() error { return join(fd, m) },
			})
		case !sameFilter(m, n):
			filters = append(filters, step{
				name: fmt.Sprintf("set source filter of %s on ifindex %d", m.Group, m.Ifindex),
				do:   func() error { return setFilter(fd, withAddress(n, m)) },
				undo: func() error { return setFilter(fd, m) },
			})
		}
	}
	for _, m := range want.Memberships {
		m := m
		if _, have := before.Membership(m.Key()); have {
			continue
		}
		joins = append(joins, step{
			name: fmt.Sprintf("join %s on ifindex %d", m.Group, m.Ifindex),
			do:   func() error { return join(fd, m) },
			undo: func() error { return leave(fd, m.Key()) },
		})
	}
	return append(append(leaves, filters...), joins...)
}

// sameFilter compares two memberships' filters. The interface address
// they were joined with is not part of it: changing it takes a leave and
// a join, a gap in the feed that a restore never makes.
func sameFilter(m, n image.Membership) bool {
	return m.Mode == n.Mode && slices.Equal(m.Sources, n.Sources)
}

// withAddress keeps the interface address the socket joined with; the
// stock engine cannot see it, so it is not part of what a filter changes.
func withAddress(n, m image.Membership) image.Membership {
	n.Address = m.Address
	return n
}

// sockaddr is ap as a bind takes it: a sockaddr_in for an IPv4 address, a
// sockaddr_in6 (the zone its scope id) for an IPv6 one.
func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if a := ap.Addr(); a.Is6() {
		return &unix.SockaddrInet6{Port: int(ap.Port()), ZoneId: image.ScopeID(a), Addr: a.As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

// connect connects fd to p; an IPv6 peer is a sockaddr_in6 with its flow
// information, which unix.SockaddrInet6 has no field for.
func connect(fd int, p netip.AddrPort, flowinfo uint32) error {
	a := p.Addr()
	if !a.Is6() {
		return unix.Connect(fd, sockaddr(p))
	}
	sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16(), Scope_id: image.ScopeID(a)}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], p.Port())
	binary.BigEndian.PutUint32((*[4]byte)(unsafe.Pointer(&sa.Flowinfo))[:], flowinfo)
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet6)
	if e != 0 {
		return e
	}
	return nil
}

// addressSteps binds, connects and listens. It refuses, before anything
// changes, what the socket API cannot do from outside: connect a TCP
// socket, take one out of LISTEN, or move a bound socket.
func addressSteps(fd, netns int, before, want *image.Image, atBind []step) ([]step, error) {
	var steps []step
	if before.Unbound() && !want.Unbound() {
		steps = append(steps, bindWith(atBind, step{
			name: "bind to " + want.Local.String(),
			do:   func() error { return unix.Bind(fd, sockaddr(want.Local)) },
		}))
	}
	if want.Type == unix.SOCK_STREAM {
		return tcpSteps(fd, before, want, steps)
	}
	if before.Peer == want.Peer && before.Flowinfo == want.Flowinfo {
		return steps, nil
	}
	if want.State == image.StateEstablished {
		if err := routable(netns, before, want); err != nil {
			return nil, err
		}
	}
	connectTo := func(p netip.AddrPort, flowinfo uint32) func() error {
		return func() error {
			if p.Addr().IsUnspecified() {
				return disconnect(fd)
			}
			return connect(fd, p, flowinfo)
		}
	}
	name := "connect to " + want.Peer.String()
	if want.State != image.StateEstablished {
		name = "disconnect"
	}
	return append(steps, step{name: name, do: connectTo(want.Peer, want.Flowinfo), undo: connectTo(before.Peer, before.Flowinfo)}), nil
}

// bindWith makes one step of the bind and the settings the kernel fixes
// at bind (IPV6_V6ONLY: the rows marked UnboundOnly), set right before it.
// A bind cannot be undone, and once it ran neither can they, so they must
// not be set by a step of their own that a failure after the bind would
// try to undo; if they or the bind fail, the settings are put back, and
// the step changed nothing. They run on the caller's thread with the bind:
// their read-back and undo lend nothing (no Keeps, no privilege).
func bindWith(settings []step, bind step) step {
	if len(settings) == 0 {
		return bind
	}
	names := make([]string, 0, len(settings)+1)
	for _, s := range settings {
		names = append(names, s.name)
	}
	undo := func(done []step) {
		for i := len(done) - 1; i >= 0; i-- {
			done[i].undo()
		}
	}
	return step{
		name: strings.Join(append(names, bind.name), ", then "),
		do: func() error {
			for i, s := range settings {
				err := s.do()
				if err == nil {
					err = s.check()
				}
				if err != nil {
					undo(settings[:i+1])
					return err
				}
			}
			if err := bind.do(); err != nil {
				undo(settings)
				return err
			}
			return nil
		},
	}
}

func tcpSteps(fd int, before, want *image.Image, steps []step) ([]step, error) {
	switch {
	case before.State == want.State:
		if before.Peer != want.Peer {
			return nil, image.AttrErrorf(image.AttrPeer, "a TCP socket's peer cannot be changed from outside (%s, image has %s)", before.Peer, want.Peer)
		}
		return steps, nil
	case before.State == image.StateClose && want.State == image.StateListen:
		return append(steps, step{
			name: "listen",
			do:   func() error { return unix.Listen(fd, unix.SOMAXCONN) },
		}), nil
	}
	return nil, image.AttrErrorf(image.AttrState, "a TCP socket cannot go from state %d to %d from outside; only CLOSE to LISTEN", before.State, want.State)
}

// disconnect dissolves a datagram socket's association (connect to
// AF_UNSPEC), which x/sys/unix has no sockaddr for.
func disconnect(fd int) error {
	var sa [16]byte // sa_family AF_UNSPEC is zero
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

// routable checks with a scratch socket that the image's peer can be
// connected to, so that a connect late in the plan does not fail after
// the socket has been bound. The scratch socket is configured as the
// target will be when it connects: the image's options that steer the
// route lookup (device, mark, TOS, unicast and multicast interface,
// freebind, transparent) and the local address the target will have. A
// failure wraps the kernel's errno (ENETUNREACH, EHOSTUNREACH, ...). The
// scratch socket is made in the target's own network namespace (netns),
// where the routes and addresses are the target's.
func routable(netns int, before, want *image.Image) error {
	fd, err := scratchSocket(netns, int(want.Family))
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, name := range routeOptions {
		o, ok := image.LookupOption(name[0], name[1])
		if !ok || !o.Types.Has(want.Family, unix.SOCK_DGRAM) || !o.Types.Has(want.Family, want.Type) {
			continue
		}
		v, ok := want.Values[o.Attr]
		if cur, err := get(fd, o); !ok || err == nil && cur.Equal(v) {
			continue // as a fresh socket has it: no call, no capability
		}
		if err := kinds[o.Kind].set(fd, o, v); err != nil {
			return &RouteError{Peer: want.Peer, Why: "with " + o.Path() + " " + o.Format(v), Err: err}
		}
	}
	local := want.Local
	if !before.Unbound() {
		local = before.Local
	}
	if a := local.Addr(); a.IsValid() && !a.IsUnspecified() {
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(a, 0))); err != nil {
			return &RouteError{Peer: want.Peer, Why: "from " + a.String(), Err: err}
		}
	}
	if err := connect(fd, want.Peer, want.Flowinfo); err != nil {
		return &RouteError{Peer: want.Peer, Err: err}
	}
	return nil
}

// routeOptions are the rows that steer a connect's route lookup.
var routeOptions = [][2]string{
	{"ipopt", "freebind"}, {"ipopt", "transparent"}, {"sockopt", "bindtodevice"},
	{"sockopt", "mark"}, {"ipopt", "tos"}, {"ipopt", "unicast_if"}, {"ipopt", "multicast_if"},
	{"ip6opt", "v6only"}, {"ip6opt", "freebind"}, {"ip6opt", "transparent"}, {"ip6opt", "tclass"},
	{"ip6opt", "unicast_if"}, {"ip6opt", "multicast_if"}, {"ip6opt", "flowinfo_send"},
}

// RouteError is a peer that a socket configured as the image says cannot
// connect to. It unwraps to the kernel's errno.
type RouteError struct {
	Peer netip.AddrPort
	Why  string
	Err  error
}

func (e *RouteError) Error() string {
	s := "PEER: cannot reach " + e.Peer.String()
	if e.Why != "" {
		s += " " + e.Why
	}
	return s + ": " + e.Err.Error()
}

func (e *RouteError) Unwrap() error { return e.Err }
