package stock

import "github.com/inetcr/inetcr/netlinkio/image"

// Duplicate is a descriptor of this process for fd of process pid
// (pidfd_getfd within GetFdTimeout), for another reader that needs to ask
// the socket itself.
func Duplicate(pid, fd int) (int, error) { return pidGetFd(pid, fd) }

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
