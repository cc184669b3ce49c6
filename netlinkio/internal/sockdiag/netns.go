package sockdiag

import (
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
	var raw *os.File
	err := netns.Run(nsfd, func() (err error) {
		if c, err = dialDiag(); err != nil {
			return err
		}
		// /proc/thread-self/net is this thread's namespace; the file goes
		// on describing it once opened.
		raw, err = os.Open("/proc/thread-self/net/raw")
		if err != nil {
			c.close()
		}
		return err
	})
	if err != nil {
		return nil, &image.OpError{Op: "list", Err: err}
	}
	defer c.close()
	defer raw.Close()
	return listOn(c, func() ([]byte, error) { return io.ReadAll(raw) })
}
