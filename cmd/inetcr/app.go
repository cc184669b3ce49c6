package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
)

// newApp builds the command line: one file per command.
func newApp() *cli.App {
	app := &cli.App{
		Name:  "inetcr",
		Usage: "checkpoint and restore the state of live IPv4 and IPv6 sockets",
		Description: "inetcr names each AF_INET and AF_INET6 socket (UDP, UDP-Lite, TCP, RAW) of the current network\n" +
			"namespace by its sockfs inode, dumps its state, socket options, IP options and multicast\n" +
			"memberships as an af_inet_cr image, and restores such an image onto a live socket.\n" +
			"Errors print as \"inetcr: dump 12345: no such socket\" and exit with status 1.",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "backend",
				Value:   "auto",
				Usage:   "how sockets are dumped and restored: `KIND` is auto (the kernel's AF_INET_CR family when it has one, else exact where it can run, else stock), kernel, exact (BPF iterators read the kernel's own structures; needs CAP_BPF and CAP_PERFMON and the kernel's BTF), or stock (getsockopt/setsockopt on a duplicate of the socket)",
				EnvVars: []string{"INETCR_BACKEND"},
			},
		},
		Commands: []*cli.Command{
			lsCommand(),
			dumpCommand(),
			restoreCommand(),
			decodeCommand(),
			encodeCommand(),
			mountCommand(),
			completionCommand(),
			versionCommand(),
			manCommand(),
		},
		EnableBashCompletion: true,
		Version:              readBuildVersion().Module,
		Writer:               os.Stdout,
		ErrWriter:            os.Stderr,
		Before: func(c *cli.Context) error {
			switch b := c.String("backend"); b {
			case "auto", "kernel", "exact", "stock":
				return nil
			default:
				return fmt.Errorf("--backend %q: want auto, kernel, exact or stock", b)
			}
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("unknown command %q (see inetcr --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		// Errors are printed once, by main, as "inetcr: ...".
		ExitErrHandler: func(*cli.Context, error) {},
	}
	app.OnUsageError = usageError("")
	for _, cmd := range app.Commands {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = usageError(cmd.Name)
		}
	}
	return app
}

// usageError turns a flag parsing error into one line instead of a help page.
func usageError(cmd string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		if cmd == "" {
			return fmt.Errorf("%v (see inetcr --help)", err)
		}
		return fmt.Errorf("%s: %v (see inetcr %s --help)", cmd, err, cmd)
	}
}

// openBackend opens the backend the global --backend flag names.
func openBackend(c *cli.Context) (netlinkio.Backend, error) {
	b, err := netlinkio.Open(c.String("backend"))
	if err != nil {
		return nil, fmt.Errorf("open backend: %w", err)
	}
	return b, nil
}

// inodeArg reads the command's one INODE argument. It takes the number
// alone or the "socket:[12345]" form that ls -l /proc/PID/fd shows.
func inodeArg(c *cli.Context, op string) (uint64, error) {
	if c.NArg() != 1 {
		return 0, fmt.Errorf("%s: want one INODE argument, got %d (see inetcr %s --help)", op, c.NArg(), op)
	}
	s := c.Args().First()
	t := strings.TrimSuffix(strings.TrimPrefix(s, "socket:["), "]")
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s: %q is not a socket inode number", op, s)
	}
	return n, nil
}

// opError words a backend error as "dump 12345: reason", unless the
// backend already did.
func opError(op string, inode uint64, err error) error {
	var oe *image.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &image.OpError{Op: op, Inode: inode, Err: err}
}

// noArgs refuses arguments a command does not take.
func noArgs(c *cli.Context, op string) error {
	if c.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (see inetcr %s --help)", op, c.Args().First(), op)
	}
	return nil
}
