package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// TestMatchExitStatus: every error of restore --match exits 2, a command
// line it cannot read included, so that a dry run's 1 always means
// "differs"; the --match flags without --match are plain errors (1).
func TestMatchExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"restore", "--match", "/nonexistent.tar", "--dry-run"}, 2, "no such file"},
		{[]string{"restore", "--match", "/dev/null"}, 2, "not a regular file or a directory"},
		{[]string{"restore", "--wait", "soon", "--match", "x.tar"}, 2, "invalid value \"soon\""},
		{[]string{"restore", "--match", "x.tar", "--pid", "1", "--comm", "sshd"}, 2, "not both"},
		{[]string{"restore", "--match", "x.tar", "--netns", "/etc/passwd"}, 2, "not a namespace file"},
		{[]string{"restore", "--match", "x.tar", "-i", "y.bin"}, 2, "do not go together"},
		{[]string{"restore", "--dry-run", "12345"}, 1, "--dry-run needs --match"},
	} {
		app := newApp()
		app.Writer, app.ErrWriter = io.Discard, io.Discard
		err := app.Run(append([]string{"inetcr"}, c.args...))
		code := 1
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		if err == nil || code != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("inetcr %s: %v (exit %d), want exit %d and %q", strings.Join(c.args, " "), err, code, c.code, c.msg)
		}
	}
}

// TestWriteChange: a change prints in inetcr decode's columns, a
// membership with its interface's name in the live namespace.
func TestWriteChange(t *testing.T) {
	ifs := interfaces{byIndex: map[int32]string{4: "eth0"}}
	for _, c := range []struct {
		ch   image.Change
		want string
	}{
		{image.Change{Path: "ipopt/ttl", Old: "64", New: "99"}, " 47 IPOPT_TTL                        64 -> 99\n"},
		{image.Change{Path: "sockopt/bindtodevice", Old: "", New: "eth0"}, ` 25 SOCKOPT_BINDTODEVICE             "" -> eth0` + "\n"},
		{image.Change{Path: "state", Old: "7", New: "10"}, "  6 STATE                            CLOSE (7) -> LISTEN (10)\n"},
		{image.Change{Path: "membership/239.1.2.3@4", Old: "", New: "include 10.0.0.9"}, " 55   IPOPT_MREQ 239.1.2.3@eth0      (not joined) -> include 10.0.0.9\n"},
		{image.Change{Path: "membership/239.1.2.4@9", Old: "exclude", New: ""}, " 55   IPOPT_MREQ 239.1.2.4@9         exclude -> (left)\n"},
	} {
		var b bytes.Buffer
		writeChange(&b, c.ch, ifs)
		if b.String() != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.ch, b.String(), c.want)
		}
	}
}
