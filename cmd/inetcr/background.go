package main

// inetcr mount --background, which mount -t fuse.inetcr and fstab run:
// the command starts itself again as the server, in a session of its own,
// and returns once that server says the tree answers, or with its error.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// backgroundEnv tells the server started by detach which descriptor to say
// "READY=1" on (it is always 3, the first of exec.Cmd's ExtraFiles).
const backgroundEnv = "INETCR_BACKGROUND_FD"

// readyMessage is what the server writes once the tree answers; the same
// words as sd_notify's.
const readyMessage = "READY=1\n"

// inBackground reports whether this process is the server that detach
// started.
func inBackground() bool { return os.Getenv(backgroundEnv) == "3" }

// exitStatus is an error that main turns into that exit status without a
// message: the message was printed already (by the server, on the stderr
// it shares with us).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// detach starts this command again as the server: a new session, stdin
// and stdout on /dev/null, stderr shared so that an error before the tree
// answers reaches whoever ran mount. It returns once the server writes
// readyMessage, or with the server's exit status once it ends without.
func detach(c *cli.Context, mp string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("mount %s: %w", mp, err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("mount %s: %w", mp, err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("mount %s: %w", mp, err)
	}
	defer r.Close()
	cmd := exec.Command(exe, commandLine(c)[1:]...)
	cmd.Env = append(os.Environ(), backgroundEnv+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("mount %s: %w", mp, err)
	}
	said, _ := io.ReadAll(io.LimitReader(r, 64))
	if bytes.Equal(said, []byte(readyMessage)) {
		cmd.Process.Release()
		return nil
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return exitStatus(1) // main printed the server's error already
	}
	if err == nil {
		err = errors.New("exit status 0")
	}
	return fmt.Errorf("mount %s: the server ended before the tree answered: %v", mp, err)
}

// backgroundReady is the server's Ready: stderr goes to /dev/null (once
// mount has returned nothing may hold its caller's pipes open), then
// readyMessage goes to the descriptor detach waits on.
func backgroundReady() {
	if null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Dup2(null, 2)
		unix.Close(null)
	}
	ready := os.NewFile(3, "ready")
	ready.WriteString(readyMessage)
	ready.Close()
}

// commandLine is the command line this run of the app parsed: os.Args, or
// what the mount helper form was turned into (helperArgs).
func commandLine(c *cli.Context) []string {
	if args, ok := c.App.Metadata[argvKey].([]string); ok {
		return args
	}
	return os.Args
}

// argvKey is where main keeps the command line in App.Metadata.
const argvKey = "argv"
