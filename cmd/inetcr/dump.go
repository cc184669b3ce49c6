package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
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
			"With --all, every listed socket is dumped, in parallel, into DIR/<inode>.bin, with a progress\n" +
			"bar on stderr when it is a terminal (--quiet: none); sockets that\n" +
			"close meanwhile are left out and counted on stderr. A socket that could not be dumped but is\n" +
			"still open (a fresh listing still has it: its holders are another user's, say) fails the command.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `FILE` instead of stdout (with --all: a directory)", TakesFile: true},
			&cli.BoolFlag{Name: "all", Usage: "dump every socket into the directory given by -o"},
			&cli.StringFlag{Name: "netns", Value: "all", Usage: "with --all: the sockets of one network namespace (self, a NAME under /run/netns or a PATH)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 2 * runtime.NumCPU(), Usage: "with --all, dump this many sockets at once"},
			quietFlag(),
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
// other failure fails the command after the rest are written. A dump that
// fails with ENOENT counts as closed only when a fresh listing no longer
// has the socket: ENOENT also means that no holder could be found, which
// is what a user who may not look into other users' processes gets.
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
	only, err := netlinkio.NetnsFilter(c.String("netns"))
	if err != nil {
		return fmt.Errorf("dump --all: %w", err)
	}
	list, dump, err := netlinkio.ListForDump(b)
	if err != nil {
		return err
	}
	inodes := make([]uint64, 0, len(list))
	for _, s := range list {
		if only == 0 || s.Netns == only {
			inodes = append(inodes, s.Inode)
		}
	}
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("dump --all: %w", &os.PathError{Op: "open", Path: dir, Err: err})
	}
	defer unix.Close(dirfd)
	var mu sync.Mutex
	var missing []uint64
	var firstErr error
	// Each worker encodes into a buffer of the pool; the bytes are written
	// before the buffer goes back, so one per worker is enough.
	bufs := sync.Pool{New: func() any { return new([]byte) }}
	write := func(ino uint64, img *image.Image) error {
		buf := bufs.Get().(*[]byte)
		defer bufs.Put(buf)
		*buf = img.AppendEncode((*buf)[:0])
		name := strconv.FormatUint(ino, 10) + ".bin"
		if err := writeFileAt(dirfd, name, *buf); err != nil {
			return &os.PathError{Op: "write", Path: filepath.Join(dir, name), Err: err}
		}
		return nil
	}
	bar := newProgress(c, len(inodes), "dump", "sockets")
	dump(inodes, c.Int("jobs"), func(ino uint64, img *image.Image, err error) {
		defer bar.Add(1) // once its image is written, or not
		if err == nil {
			err = write(ino, img)
		}
		if err == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(err, syscall.ENOENT) {
			missing = append(missing, ino)
		} else if firstErr == nil {
			firstErr = err
		}
	})
	bar.Done()
	open, err := stillOpen(b, missing, write)
	if err != nil && firstErr == nil {
		firstErr = err
	}
	if gone := len(missing) - len(open); gone > 0 {
		fmt.Fprintf(os.Stderr, "inetcr: dump --all: %d of %d sockets closed before they were dumped\n", gone, len(inodes))
	}
	if len(open) > 0 {
		return notDumped(open, len(inodes))
	}
	return firstErr
}

// stillOpen checks the sockets whose dump found no socket against a fresh
// listing (a new engine's: the backend's own may be reused for a moment):
// one still listed is dumped once more, and written if that works. It
// returns the sockets still listed and still not dumped.
func stillOpen(b netlinkio.Backend, missing []uint64, write func(uint64, *image.Image) error) ([]image.Socket, error) {
	if len(missing) == 0 {
		return nil, nil
	}
	list, err := stock.NewStock().List()
	if err != nil {
		return nil, err
	}
	var open []image.Socket
	for _, ino := range missing {
		i := slices.IndexFunc(list, func(s image.Socket) bool { return s.Inode == ino })
		if i < 0 {
			continue
		}
		img, err := b.Dump(ino)
		if err == nil {
			if err := write(ino, img); err != nil {
				return open, err
			}
			continue
		}
		if !errors.Is(err, syscall.ENOENT) {
			return open, err
		}
		open = append(open, list[i])
	}
	return open, nil
}

// notDumped is the error for sockets that are open but could not be
// dumped: no process that holds them could be found.
func notDumped(open []image.Socket, total int) error {
	slices.SortFunc(open, func(a, b image.Socket) int { return cmp.Compare(a.Inode, b.Inode) })
	var names []string
	for i, s := range open {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(open)-i))
			break
		}
		names = append(names, fmt.Sprintf("%d (uid %d)", s.Inode, s.UID))
	}
	why := "no process that holds them could be found"
	if uid := os.Geteuid(); uid != 0 {
		why += fmt.Sprintf(": uid %d cannot see other users' descriptors (/proc/PID/fd); run as root", uid)
	}
	return fmt.Errorf("dump --all: %d of %d sockets are still open but were not dumped: %s; %s", len(open), total, strings.Join(names, ", "), why)
}

// writeFileAt writes b to the file name of the directory dirfd, made or
// truncated, with one openat, write and close. An os.File would also make
// the descriptor non-blocking and offer it to the runtime's poller, which
// refuses regular files: three system calls more per image.
func writeFileAt(dirfd int, name string, b []byte) error {
	var fd int
	var err error
	for {
		fd, err = unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return err
	}
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		b = b[n:]
	}
	return unix.Close(fd)
}
