package main

import (
	"github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/netlinkio"
)

// mountOptions are what the mount command passes to the file system.
type mountOptions struct {
	AllowOther bool
	Debug      bool
	Backend    netlinkio.Backend
	Netns      uint64 // 0: every namespace
}

// runMount serves the tree until it is unmounted or signalled.
func runMount(mountpoint string, o mountOptions) error {
	return fs.Run(mountpoint, fs.Options{AllowOther: o.AllowOther, Backend: o.Backend, Debug: o.Debug, Netns: o.Netns})
}
