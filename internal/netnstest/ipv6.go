package netnstest

import "testing"

// Socket6 makes an AF_INET6 socket: kind as Socket's.
func (h *Holder) Socket6(kind string) *Sock {
	h.t.Helper()
	var r struct {
		Fd    int    `json:"fd"`
		Inode uint64 `json:"inode"`
	}
	h.Must(map[string]any{"op": "socket", "type": kind, "family": 6}, &r)
	return &Sock{H: h, Fd: r.Fd, Inode: r.Inode}
}

// Veth6 makes a veth pair as Veth does, with an IPv6 address (CIDR) that
// is usable at once: nodad skips duplicate address detection, which would
// otherwise keep it tentative (unbindable) for a second or more. It
// returns the ifindex of name.
func Veth6(t testing.TB, name, cidr string) int {
	t.Helper()
	return veth(t, name, "-6", "addr", "add", cidr, "dev", name, "nodad")
}
