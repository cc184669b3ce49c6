package netlinkio

import (
	"fmt"
	"strings"

	"github.com/inetcr/inetcr/netlinkio/internal/netns"
)

// NetnsFilter reads a --netns argument: "all" (or "") every namespace,
// "self" the caller's own, a PATH of a namespace file (/proc/PID/ns/net,
// /run/netns/NAME) or a NAME under /run/netns. It returns the inode of
// the namespace asked for, 0 for all.
func NetnsFilter(spec string) (uint64, error) {
	path := spec
	switch {
	case spec == "" || spec == "all":
		return 0, nil
	case spec == "self":
		path = "/proc/self/ns/net"
	case !strings.Contains(spec, "/"):
		path = netns.RunDir + "/" + spec
	}
	ino, err := netns.Ino(path)
	if err != nil {
		return 0, fmt.Errorf("--netns %s: %w (want all, self, a name under %s or a path such as /proc/PID/ns/net)", spec, err, netns.RunDir)
	}
	return ino, nil
}

// NetnsNames maps the namespaces named under /run/netns to their names.
func NetnsNames() map[uint64]string {
	out := map[uint64]string{}
	for name, ino := range netns.Names() {
		out[ino] = name
	}
	return out
}

// NetnsString is a namespace as /proc/PID/ns/net's link reads: net:[INODE].
func NetnsString(ino uint64) string { return netns.String(ino) }
