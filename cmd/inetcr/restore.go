package main

import (
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore an image (from stdin) onto a live socket",
		UsageText: "inetcr restore [-i FILE] INODE",
		Description: "Reads an image (as inetcr dump or inetcr encode write it) from stdin or -i FILE,\n" +
			"validates it whole, and makes the socket's state equal to it: options, local address\n" +
			"(an unbound socket is bound), peer (a UDP socket is connected or disconnected) and\n" +
			"memberships. Its family, type and protocol must match the socket's. A refused or failed\n" +
			"restore changes nothing, prints one line naming the attribute or step on stderr, and\n" +
			"exits with status 1.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read the image from `FILE` instead of stdin", TakesFile: true},
		},
		BashComplete: completeInodes,
		Action: func(c *cli.Context) error {
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
