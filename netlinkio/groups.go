package netlinkio

import (
	"net/netip"
	"os"

	"github.com/inetcr/inetcr/netlinkio/internal/procfs"
)

// allHosts is 224.0.0.1, which the kernel joins on every multicast
// interface by itself.
var allHosts = netip.AddrFrom4([4]byte{224, 0, 0, 1})

// AnyGroups reports whether any interface of this process's network
// namespace has joined an IPv4 group other than 224.0.0.1 (its
// /proc/<pid>/net/igmp, read as the stock engine reads it). When none has,
// no socket of the namespace has a membership. If the file cannot be read
// it answers true, so that a caller looks at each socket.
func AnyGroups() bool {
	keys, err := procfs.IGMP(os.Getpid())
	if err != nil {
		return true
	}
	for _, k := range keys {
		if k.Group != allHosts {
			return true
		}
	}
	return false
}
