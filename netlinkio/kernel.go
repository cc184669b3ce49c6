package netlinkio

import "errors"

// Kernel is the client of the af_inet_cr generic netlink family.
// Placeholder until the genetlink client lands (issue 2, item 5).
type Kernel struct{ Backend }

// NewKernel dials the AF_INET_CR family; lister lists sockets and holders.
func NewKernel(lister Backend) (*Kernel, error) {
	return nil, errors.New("af_inet_cr: generic netlink family AF_INET_CR not found")
}
