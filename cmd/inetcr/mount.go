package main

import (
	"errors"
	"fmt"

	"github.com/inetcr/inetcr/fs"
	"github.com/urfave/cli/v2"
)

func mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "mount the socket tree at MOUNTPOINT and serve it in the foreground",
		UsageText: "inetcr mount [--allow-other] [--debug] MOUNTPOINT",
		Description: "Mounts the FUSE tree (one directory per socket: image.bin, info, ipopt/, sockopt/,\n" +
			"membership/) and serves it until it is unmounted (umount, fusermount3 -u) or\n" +
			"inetcr gets SIGINT or SIGTERM, which unmount it cleanly. It shows the sockets of the\n" +
			"network namespace inetcr runs in.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "allow-other", Usage: "let users other than the mounting one use the tree (FUSE allow_other; needs user_allow_other in /etc/fuse.conf for non-root)"},
			&cli.BoolFlag{Name: "debug", Usage: "log every FUSE request to stderr"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("mount: want one MOUNTPOINT argument, got %d (see inetcr mount --help)", c.NArg())
			}
			b, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			mp := c.Args().First()
			if err := runMount(mp, mountOptions{AllowOther: c.Bool("allow-other"), Debug: c.Bool("debug"), Backend: b}); err != nil {
				if me := (*fs.MountError)(nil); errors.As(err, &me) {
					return err // it names the mount point
				}
				return fmt.Errorf("mount %s: %w", mp, err)
			}
			return nil
		},
	}
}
