package creds

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

var capNames = map[int]string{
	unix.CAP_NET_ADMIN:        "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:          "CAP_NET_RAW",
	unix.CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE",
	unix.CAP_DAC_OVERRIDE:     "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:  "CAP_DAC_READ_SEARCH",
	unix.CAP_SYS_ADMIN:        "CAP_SYS_ADMIN",
}

// CapNames words a capability set for a message: "no capabilities",
// "CAP_NET_ADMIN", or "CAP_NET_RAW, capability 12 and 3 more".
func CapNames(caps uint64) string {
	if caps == 0 {
		return "no capabilities"
	}
	if all := uint64(1)<<(unix.CAP_LAST_CAP+1) - 1; caps&all == all {
		return "every capability"
	}
	var names []string
	for c := 0; c < 64; c++ {
		if caps&(1<<uint(c)) == 0 {
			continue
		}
		n, ok := capNames[c]
		if !ok {
			n = "capability " + strconv.Itoa(c)
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
