package image

import "golang.org/x/sys/unix"

// checkV6Only refuses what no AF_INET6 socket can be: bound to an IPv6
// address (not v4-mapped, not ::) with IPV6_V6ONLY off, which the kernel
// turns on at such a bind, or bound to a v4-mapped address with it on,
// which the kernel refuses to bind. A restore could not reproduce either.
func (img *Image) checkV6Only() error {
	o, ok := LookupOption("ip6opt", "v6only")
	a := img.Local.Addr()
	if img.Family != unix.AF_INET6 || !ok || !img.Knows(o) || a.IsUnspecified() {
		return nil
	}
	on := img.Values[o.Attr].Num != 0
	switch {
	case a.Is4In6() && on:
		return AttrErrorf(o.Attr, "1 on a socket bound to the v4-mapped %s, which the kernel binds only with v6only 0", img.Local)
	case !a.Is4In6() && !on && !img.connected():
		// A connect that picks the source address leaves v6only as it
		// was: only a socket with no peer must have been bound so.
		return AttrErrorf(o.Attr, "0 on a socket bound to %s: the kernel turns v6only on when it binds an IPv6 address", img.Local)
	}
	return nil
}

// connected reports whether the image's socket has a peer.
func (img *Image) connected() bool {
	p := img.Peer.Addr()
	return p.IsValid() && !p.IsUnspecified()
}
