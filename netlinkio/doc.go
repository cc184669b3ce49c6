// Package netlinkio is everything of inetcr that talks to the kernel. This
// package is its front door: the Backend interface and Open, the one-change
// operations of the tree (SetOption, Join, Leave, SetFilter,
// RestoreGuarded), the privilege rules a change is vetted with (Caller)
// and DumpAll. Beneath it: image (the checkpoint, its option table and
// codecs; no system calls), stock (the stock-kernel engine), crfamily (the
// client of the af_inet_cr generic netlink family), and the internal
// packages sockdiag (listing), procfs (holders, /proc/<pid>/net/igmp) and
// parallel.
package netlinkio

import ()
