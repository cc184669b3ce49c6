package netlinkio

import (
	"net/netip"
	"os"
	"slices"

	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
)

// allHosts is 224.0.0.1, which the kernel joins on every multicast
// interface by itself.
var allHosts = netip.AddrFrom4([4]byte{224, 0, 0, 1})

// AnyGroups reports whether any interface of this process's network
// namespace has joined a group other than those the kernel joins by
// itself: 224.0.0.1, and ff01::1, ff02::1, ff02::2 and the solicited-node
// groups ff02::1:ffXX:XXXX (its /proc/<pid>/net/igmp and igmp6, read as
// the stock engine reads them). When none has, no socket of the namespace
// has a membership. If a file cannot be read it answers true, so that a
// caller looks at each socket.
func AnyGroups() bool {
	keys, err := procfs.IGMP(os.Getpid())
	keys6, err6 := procfs.IGMP6(os.Getpid())
	if err != nil || err6 != nil {
		return true
	}
	for _, k := range append(keys, keys6...) {
		if !kernelGroup(k.Group) {
			return true
		}
	}
	return false
}

// kernelGroups are the groups an interface joins by itself.
var kernelGroups = []netip.Addr{allHosts, netip.MustParseAddr("ff01::1"), netip.MustParseAddr("ff02::1"), netip.MustParseAddr("ff02::2")}

// solicitedNode is ff02::1:ff00:0/104, the solicited-node groups.
var solicitedNode = netip.MustParsePrefix("ff02::1:ff00:0/104")

func kernelGroup(g netip.Addr) bool {
	return slices.Contains(kernelGroups, g) || solicitedNode.Contains(g)
}
