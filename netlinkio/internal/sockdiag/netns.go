package sockdiag

import (
	"golang.org/x/sys/unix"
	"io"
	"os"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/netns"
)

// ListIn is List for the network namespace nsfd: the sock_diag socket is
// made inside it (netns.Run: a locked OS thread that enters it and leaves
// again), and a netlink socket answers for the namespace it was made in,
// so the dump itself runs on any thread. Its /proc/net/raw, read only when
// the kernel has no raw_diag, is opened there too.
func ListIn(nsfd int) ([]image.Socket, error) {
	var c *diagConn
	var raw [2]*os.File // raw and raw6
	err := netns.Run(nsfd, func() (err error) {
		if c, err = dialDiag(); err != nil {
			return err
		}
		// /proc/thread-self/net is this thread's namespace; the files go
		// on describing it once opened. raw6 is missing without IPv6.
		raw[0], err = os.Open("/proc/thread-self/net/raw")
		if err != nil {
			c.close()
			return err
		}
		raw[1], _ = os.Open("/proc/thread-self/net/raw6")
		return nil
	})
	if err != nil {
		return nil, &image.OpError{Op: "list", Err: err}
	}
	defer c.close()
	for _, f := range raw {
		if f != nil {
			defer f.Close()
		}
	}
	return listOn(c, func(family uint8) ([]byte, error) {
		f := raw[0]
		if family == unix.AF_INET6 {
			if f = raw[1]; f == nil {
				return nil, nil // no IPv6
			}
		}
		return io.ReadAll(f)
	})
}
