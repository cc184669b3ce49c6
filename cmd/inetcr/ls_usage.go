package main

import (
	"strconv"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// lsUsage is where a socket runs and how it is doing, for `ls --usage`:
// the first question an operator of a feed asks is whether it drops.
type lsUsage struct {
	Cgroup string  `json:"cgroup"`           // the first holder's cgroup (v2) path, "" when unknown
	RcvQ   *uint32 `json:"rcvq,omitempty"`   // bytes in the receive queue; absent when unknown
	RcvBuf *uint32 `json:"rcvbuf,omitempty"` // the receive queue's limit
	Drops  *uint32 `json:"drops,omitempty"`  // packets dropped (sk_drops)
}

// socketUsage asks the backend; what it cannot tell stays unknown.
func socketUsage(b netlinkio.Backend, inode uint64, hs []image.Holder) *lsUsage {
	u := &lsUsage{}
	if len(hs) > 0 {
		u.Cgroup = netlinkio.HolderCgroup(hs[0].Pid)
	}
	if w, ok := b.(netlinkio.Where); ok {
		if m, err := w.Meminfo(inode); err == nil {
			u.RcvQ, u.RcvBuf, u.Drops = &m.RmemAlloc, &m.Rcvbuf, &m.Drops
		}
	}
	return u
}

// columns is the CGROUP, RECVQ and DROPS columns: "-" for what is unknown,
// RECVQ as USED/LIMIT.
func (u *lsUsage) columns() string {
	cg, q, d := "-", "-", "-"
	if u.Cgroup != "" {
		cg = u.Cgroup
	}
	if u.RcvQ != nil {
		q = strconv.FormatUint(uint64(*u.RcvQ), 10) + "/" + strconv.FormatUint(uint64(*u.RcvBuf), 10)
		d = strconv.FormatUint(uint64(*u.Drops), 10)
	}
	return cg + "\t" + q + "\t" + d
}
