package main

import (
	"errors"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "restore an image (from stdin) onto a live socket, or saved state onto the sockets of a restarted program",
		UsageText: "inetcr restore [-i FILE] INODE\n" +
			"   inetcr restore --match SRC [--dry-run] [--partial] [--wait DURATION] [--netns NS] [--pid PID | --comm NAME] [SRC...]",
		Description: "Reads an image (as inetcr dump or inetcr encode write it) from stdin or -i FILE,\n" +
			"validates it whole, and makes the socket's state equal to it: options, local address\n" +
			"(an unbound socket is bound), peer (a UDP socket is connected or disconnected) and\n" +
			"memberships. Its family, type and protocol must match the socket's. A refused or failed\n" +
			"restore changes nothing, prints one line naming the attribute or step on stderr, and\n" +
			"exits with status 1.\n\n" +
			"With --match, SRC is saved state: a tar archive of the tree (any subset, plain or gzip,\n" +
			"\"-\" for stdin), a dump --all directory, or image files. Each saved socket is matched to\n" +
			"the live socket with the same identity (family, type, protocol, local address and port,\n" +
			"peer, and the network namespace and cgroup where the archive names them; the holder's\n" +
			"command name and fd break ties), and restored onto it, each in one transaction.\n" +
			"Memberships find their interface by name in the live socket's namespace. Unmatched and\n" +
			"ambiguous sockets are reported, never guessed. Everything is read and checked first: a\n" +
			"hostile or broken archive restores nothing. Exit status: 0 when every saved socket was\n" +
			"restored (or, with --dry-run, when nothing differs), 1 with --dry-run when something\n" +
			"differs, 2 when a socket is unmatched, ambiguous or not restorable, or on any error.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read the image from `FILE` instead of stdin", TakesFile: true},
			&cli.StringSliceFlag{Name: "match", Usage: "restore the saved state in `SRC` (tar, gzip'd tar, dump --all directory, image) onto the live sockets of the same identity", TakesFile: true},
			&cli.BoolFlag{Name: "dry-run", Usage: "with --match, print what would change and change nothing"},
			&cli.BoolFlag{Name: "partial", Usage: "with --match, restore what matches and exit 0 although some saved sockets do not"},
			&cli.DurationFlag{Name: "wait", Usage: "with --match, wait up to `DURATION` (5s, 1m) for the sockets to appear"},
			&cli.StringFlag{Name: "netns", Usage: "with --match, match live sockets of this network namespace only: self, a name under /run/netns, or a path such as /proc/PID/ns/net (the saved namespace and cgroup are then not compared)"},
			&cli.IntFlag{Name: "pid", Usage: "with --match, match sockets that process `PID` holds only (the saved namespace and cgroup are then not compared)"},
			&cli.StringFlag{Name: "comm", Usage: "with --match, match sockets held by a process of command name `NAME` only"},
			quietFlag(),
		},
		OnUsageError: func(c *cli.Context, err error, sub bool) error {
			// restore --match --dry-run is a drift check: 1 means "differs",
			// so a command line it cannot read is 2, as every other error.
			return &exitError{code: exitFailed, err: usageError("restore")(c, err, sub)}
		},
		BashComplete: completeInodes,
		Action: func(c *cli.Context) error {
			if c.IsSet("match") {
				if c.IsSet("input") {
					return &exitError{code: exitFailed, err: errors.New("restore: -i and --match do not go together")}
				}
				return restoreMatch(c)
			}
			if err := matchOnly(c); err != nil {
				return err
			}
			inode, err := inodeArg(c, "restore")
			if err != nil {
				return err
			}
			data, err := readInput("restore", c.String("input"), image.MaxImageSize)
			if err != nil {
				return err
			}
			img, err := image.Decode(data)
			if err != nil {
				return opError("restore", inode, err)
			}
			b, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.Restore(inode, img); err != nil {
				return opError("restore", inode, err)
			}
			return nil
		},
	}
}

// matchOnly refuses the flags that mean something with --match only.
func matchOnly(c *cli.Context) error {
	for _, f := range []string{"dry-run", "partial", "wait", "netns", "pid", "comm"} {
		if c.IsSet(f) {
			return errors.New("restore: --" + f + " needs --match SRC (see inetcr restore --help)")
		}
	}
	return nil
}
