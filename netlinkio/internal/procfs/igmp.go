package procfs

import (
	"bufio"
	"encoding/binary"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// IGMP parses /proc/<pid>/net/igmp into (ifindex, group) pairs: the
// groups joined on each interface of pid's network namespace.
func IGMP(pid int) ([]image.MembershipKey, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/net/igmp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []image.MembershipKey
	ifindex := int32(-1)
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			n, err := strconv.Atoi(fields[0])
			if err != nil {
				ifindex = -1
				continue
			}
			ifindex = int32(n)
			continue
		}
		g, err := strconv.ParseUint(fields[0], 16, 32)
		if err != nil || ifindex < 0 {
			continue
		}
		// The kernel prints the __be32 group as a host-order %08X.
		out = append(out, image.MembershipKey{Ifindex: ifindex, Group: netip.AddrFrom4([4]byte(binary.NativeEndian.AppendUint32(nil, uint32(g))))})
	}
	return out, sc.Err()
}
