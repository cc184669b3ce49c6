package main

import (
	"github.com/urfave/cli/v2"
)

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:      "dump",
		Usage:     "write a socket's image (af_inet_cr v1, binary) to stdout",
		UsageText: "inetcr dump [-o FILE] INODE",
		Description: "Dumps the socket with that inode (as inetcr ls or ss -e show it; \"socket:[N]\" works too)\n" +
			"and writes its image: the same bytes as the tree's <inode>/image.bin. The image is binary,\n" +
			"so dump refuses to write it to a terminal: redirect stdout, give -o FILE, or pipe it to\n" +
			"inetcr decode.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `FILE` instead of stdout", TakesFile: true},
		},
		BashComplete: completeInodes,
		Action: func(c *cli.Context) error {
			inode, err := inodeArg(c, "dump")
			if err != nil {
				return err
			}
			b, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			img, err := b.Dump(inode)
			if err != nil {
				return opError("dump", inode, err)
			}
			return writeBinary("dump", c.String("output"), img.Encode())
		},
	}
}
