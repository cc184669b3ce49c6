package main

import (
	"log/slog"

	"github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/netlinkio"
)

// mountOptions are what the mount command passes to the file system.
type mountOptions struct {
	AllowOther bool
	ReadOnly   bool
	Debug      bool
	Backend    netlinkio.Backend
	// Logger is nil in the foreground (stderr), syslog in the background.
	Logger *slog.Logger
	// Ready and Stopping tell whoever waits for the mount (fs.Options).
	Ready, Stopping func()
	Netns           uint64 // 0: every namespace
}

// runMount serves the tree until it is unmounted or signalled.
func runMount(mountpoint string, o mountOptions) error {
	return fs.Run(mountpoint, fs.Options{
		AllowOther: o.AllowOther, ReadOnly: o.ReadOnly, Backend: o.Backend, Debug: o.Debug,
		Logger: o.Logger, Ready: o.Ready, Stopping: o.Stopping, Netns: o.Netns,
	})
}
