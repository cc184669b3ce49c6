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
		Usage:     "mount the socket tree at MOUNTPOINT and serve it",
		UsageText: "inetcr mount [--allow-other] [--read-only] [--debug] [--background] [--netns all|self|NAME|PATH] MOUNTPOINT",
		Description: "Mounts the FUSE tree (one directory per socket: image.bin, info, ipopt/, sockopt/,\n" +
			"membership/) and serves it until it is unmounted (umount, fusermount3 -u) or\n" +
			"inetcr gets SIGINT or SIGTERM, which unmount it cleanly. It shows the sockets of every\n" +
			"network namespace inetcr can reach, bound or not; --netns limits it to one. In the\n" +
			"foreground it logs to stderr and, under systemd (NOTIFY_SOCKET), says READY=1 once the\n" +
			"tree answers and STOPPING=1 when it goes away. With --background it returns once the tree\n" +
			"answers and logs to syslog; mount -t fuse.inetcr and /etc/fstab run it that way\n" +
			"(inetcr SOURCE MOUNTPOINT -o OPTIONS).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "allow-other", Usage: "let users other than the mounting one use the tree (FUSE allow_other; needs user_allow_other in /etc/fuse.conf for non-root)"},
			&cli.BoolFlag{Name: "read-only", Usage: "mount read-only: the kernel refuses every change with EROFS (mount option ro)"},
			&cli.BoolFlag{Name: "debug", Usage: "log every FUSE request"},
			&cli.BoolFlag{Name: "background", Usage: "detach once the tree answers, and log to syslog; a failure to mount is this command's exit status and message"},
			&cli.StringFlag{Name: "netns", Value: "all", Usage: "show one network namespace: self, a NAME under /run/netns or a PATH such as /proc/PID/ns/net"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("mount: want one MOUNTPOINT argument, got %d (see inetcr mount --help)", c.NArg())
			}
			mp := c.Args().First()
			only, err := netlinkio.NetnsFilter(c.String("netns"))
			if err != nil {
				return fmt.Errorf("mount: %w", err)
			}
			if c.Bool("background") && !inBackground() {
				return detach(c, mp)
			}
			o := mountOptions{AllowOther: c.Bool("allow-other"), ReadOnly: c.Bool("read-only"), Debug: c.Bool("debug"), Netns: only}
			if inBackground() {
				logger, err := syslogLogger()
				if err != nil {
					return fmt.Errorf("mount %s: %w", mp, err)
				}
				o.Logger, o.Ready = logger, backgroundReady
			} else {
				o.Ready, o.Stopping = sdNotifier("READY=1\nSTATUS=serving "+mp), sdNotifier("STOPPING=1")
			}
			b, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			o.Backend = b
			if err := runMount(mp, o); err != nil {
				if me := (*fs.MountError)(nil); errors.As(err, &me) {
					return err // it names the mount point
				}
				return fmt.Errorf("mount %s: %w", mp, err)
			}
			return nil
		},
	}
}
