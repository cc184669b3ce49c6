package stock

import "github.com/inetcr/inetcr/netlinkio/image"

// Duplicate is a descriptor of this process for fd of process pid
// (pidfd_getfd within GetFdTimeout), for another reader that needs to ask
// the socket itself.
func Duplicate(pid, fd int) (int, error) { return pidGetFd(pid, fd) }

// IfName is the name of interface ifindex in the network namespace of the
// socket fd (SIOCGIFNAME: one ioctl, not a dump of every link), "" when
// it has none.
func IfName(fd int, ifindex int32) string { return ifname(fd, ifindex) }

// ReadRows reads rows of the socket fd with getsockopt, as a dump does,
// into img.Values: for a reader that sees the other rows by other means
// (the exact reader, for the rows that name no kernel field it reads).
func ReadRows(fd int, img *image.Image, rows []*image.Option) error {
	for _, o := range rows {
		v, err := get(fd, o)
		if err != nil {
			return &image.AttrError{Attr: o.AttrName(), Reason: "getsockopt: " + err.Error()}
		}
		img.Values[o.Attr] = v
	}
	return nil
}

// Duplicator duplicates descriptors of many processes with one pidfd per
// process, opened at first use and closed by Close: a batch of another
// reader (the exact reader's DumpBatch) shares them as DumpBatch does.
// It is safe for concurrent use.
type Duplicator struct{ h batchHolders }

// NewDuplicator returns an empty Duplicator.
func NewDuplicator() *Duplicator { return &Duplicator{h: batchHolders{byPid: map[int]*batchHolder{}}} }

// Duplicate is Duplicate through the process's shared pidfd.
func (d *Duplicator) Duplicate(pid, fd int) (int, error) { return d.h.getFd(pid, fd) }

// Close closes the pidfds.
func (d *Duplicator) Close() { d.h.close() }
