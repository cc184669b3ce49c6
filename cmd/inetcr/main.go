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
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "inetcr: "+oneLine(err))
		code := 1
		var ec interface{ ExitCode() int } // restore --match's statuses
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		os.Exit(code)
	}
}

// oneLine keeps an error to the one line a script reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
