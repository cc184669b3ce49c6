package main

import (
	"errors"
	"fmt"
	"github.com/inetcr/inetcr/netlinkio"

	"github.com/inetcr/inetcr/fs"
	"github.com/urfave/cli/v2"
)

func mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "mount the socket tree at MOUNTPOINT and serve it in the foreground",
		UsageText: "inetcr mount [--allow-other] [--debug] [--netns all|self|NAME|PATH] MOUNTPOINT",
		Description: "Mounts the FUSE tree (one directory per socket: image.bin, info, ipopt/, sockopt/,\n" +
			"membership/) and serves it until it is unmounted (umount, fusermount3 -u) or\n" +
			"inetcr gets SIGINT or SIGTERM, which unmount it cleanly. It shows the sockets of every\n" +
			"network namespace inetcr can reach, bound or not; --netns limits it to one.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "allow-other", Usage: "let users other than the mounting one use the tree (FUSE allow_other; needs user_allow_other in /etc/fuse.conf for non-root)"},
			&cli.BoolFlag{Name: "debug", Usage: "log every FUSE request to stderr"},
			&cli.StringFlag{Name: "netns", Value: "all", Usage: "show one network namespace: self, a NAME under /run/netns or a PATH such as /proc/PID/ns/net"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("mount: want one MOUNTPOINT argument, got %d (see inetcr mount --help)", c.NArg())
			}
			only, err := netlinkio.NetnsFilter(c.String("netns"))
			if err != nil {
				return fmt.Errorf("mount: %w", err)
			}
			b, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			mp := c.Args().First()
			if err := runMount(mp, mountOptions{AllowOther: c.Bool("allow-other"), Debug: c.Bool("debug"), Backend: b, Netns: only}); err != nil {
				if me := (*fs.MountError)(nil); errors.As(err, &me) {
					return err // it names the mount point
				}
				return fmt.Errorf("mount %s: %w", mp, err)
			}
			return nil
		},
	}
}
