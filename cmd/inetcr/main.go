// Command inetcr shows and restores the checkpoint state of a host's live
// IPv4 sockets: as a FUSE tree (inetcr mount) and as images on the command
// line (inetcr ls, dump, restore, decode, encode). docs/cli.md describes
// every command.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if inBackground() {
		// The ready pipe is the server's alone, not its children's.
		unix.CloseOnExec(3)
	}
	app := newApp()
	args := os.Args
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Name)
	}
	if helper, ok, err := helperArgs(args, append(names, "help")); ok {
		if err != nil {
			fail(err)
		}
		args = helper
	}
	app.Metadata = map[string]any{argvKey: args}
	if err := app.Run(args); err != nil {
		fail(err)
	}
}

// fail prints err as the one line a script reads and exits 1, or exits
// with the status an exitStatus carries, silently.
func fail(err error) {
	var st exitStatus
	if errors.As(err, &st) {
		os.Exit(int(st))
	}
	fmt.Fprintln(os.Stderr, "inetcr: "+oneLine(err))
	code := 1
	var ec interface{ ExitCode() int } // restore --match's statuses
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	os.Exit(code)
}

// oneLine keeps an error to the one line a script reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
