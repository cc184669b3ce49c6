package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/urfave/cli/v2"
)

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:      "dump",
		Usage:     "write a socket's image (af_inet_cr v1, binary) to stdout",
		UsageText: "inetcr dump [-o FILE] INODE\n   inetcr dump --all -o DIR",
		Description: "Dumps the socket with that inode (as inetcr ls or ss -e show it; \"socket:[N]\" works too)\n" +
			"and writes its image: the same bytes as the tree's <inode>/image.bin. The image is binary,\n" +
			"so dump refuses to write it to a terminal: redirect stdout, give -o FILE, or pipe it to\n" +
			"inetcr decode.\n\n" +
			"With --all, every listed socket is dumped, in parallel, into DIR/<inode>.bin; sockets that\n" +
			"close meanwhile are left out and counted on stderr.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `FILE` instead of stdout (with --all: a directory)", TakesFile: true},
			&cli.BoolFlag{Name: "all", Usage: "dump every socket into the directory given by -o"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 2 * runtime.NumCPU(), Usage: "with --all, dump this many sockets at once"},
		},
		BashComplete: completeInodes,
		Action: func(c *cli.Context) error {
			if c.Bool("all") {
				return dumpAll(c)
			}
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

// dumpAll writes every listed socket's image into a directory. A socket
// that closes between the listing and its dump is skipped and counted; any
// other failure fails the command after the rest are written.
func dumpAll(c *cli.Context) error {
	if err := noArgs(c, "dump --all"); err != nil {
		return err
	}
	dir := c.String("output")
	if dir == "" || dir == "-" {
		return errors.New("dump --all: give the directory with -o DIR")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dump --all: %w", err)
	}
	b, err := openBackend(c)
	if err != nil {
		return err
	}
	defer b.Close()
	list, err := b.List()
	if err != nil {
		return err
	}
	inodes := make([]uint64, len(list))
	for i, s := range list {
		inodes[i] = s.Inode
	}
	var mu sync.Mutex
	var gone int
	var firstErr error
	netlinkio.DumpAll(b, inodes, c.Int("jobs"), func(ino uint64, img *netlinkio.Image, err error) {
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, strconv.FormatUint(ino, 10)+".bin"), img.Encode(), 0o644)
		}
		if err == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(err, syscall.ENOENT) {
			gone++
		} else if firstErr == nil {
			firstErr = err
		}
	})
	if gone > 0 {
		fmt.Fprintf(os.Stderr, "inetcr: dump --all: %d of %d sockets closed before they were dumped\n", gone, len(inodes))
	}
	return firstErr
}
