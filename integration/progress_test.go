package integration

// dump --all's progress bar: drawn on a terminal (a pseudo-terminal here,
// as a shell's), never on a pipe, and not with --quiet.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// openPty opens a pseudo-terminal, 120 columns wide, and returns its
// master and slave ends.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	return m, s
}

// dumpAll runs inetcr dump --all with stderr on a terminal (tty) or a
// pipe, and returns what reached stderr.
func dumpAll(t *testing.T, bin string, tty bool, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"dump", "--all", "--netns", "self", "-o", dir}, extra...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	var stderr bytes.Buffer
	done := make(chan struct{})
	if tty {
		m, s := openPty(t)
		defer m.Close()
		cmd.Stderr = s
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// The read ends with EIO once the last holder of the slave is gone.
		go func() { io.Copy(&stderr, m); close(done) }()
	} else {
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		close(done)
	}
	err := cmd.Wait()
	<-done
	if err != nil {
		t.Fatalf("dump --all %v: %v: %s", extra, err, stderr.String())
	}
	if stdout.Len() > 0 {
		t.Errorf("dump --all wrote to stdout: %q", stdout.String())
	}
	return stderr.String()
}

func TestDumpAllProgress(t *testing.T) {
	bin := buildBinary(t)
	n := len(netnstest.NewHolder(t).Many(3000, "127.0.0.1"))

	bar := dumpAll(t, bin, true)
	t.Logf("on a terminal: %q", bar)
	// A frame on the way: the count, the rate, the time taken and left.
	if !regexp.MustCompile(`\rdump\s+\d+% \|[^|]+\| \(\d+/\d+, \d+ sockets/s\) \[\d+s:\d+s\]`).MatchString(bar) {
		t.Errorf("no frame with count, rate, time taken and time left on the terminal: %q", bar)
	}
	// The last frame, on a line of its own.
	last := regexp.MustCompile(`\rdump 100% \|[^|]+\| \((\d+)/(\d+), \d+ sockets/s\)\s*\r?\n$`).FindStringSubmatch(bar)
	if last == nil {
		t.Fatalf("no finished bar ending its line on the terminal: %q", bar)
	}
	if last[1] != last[2] || len(last[1]) < len(fmt.Sprint(n)) {
		t.Errorf("the bar ends at %s/%s, with %d sockets made", last[1], last[2], n)
	}

	if out := dumpAll(t, bin, false); out != "" {
		t.Errorf("on a pipe, stderr got %q", out)
	}
	if out := dumpAll(t, bin, true, "--quiet"); out != "" {
		t.Errorf("with --quiet, the terminal got %q", out)
	}
	if out := dumpAll(t, bin, true, "-q", "-j", "1"); out != "" {
		t.Errorf("with -q, the terminal got %q", out)
	}
}

// restore --match draws the same bar while it restores, when its reports
// go to a file or a pipe; none with --quiet.
func TestRestoreMatchProgress(t *testing.T) {
	bin := buildBinary(t)
	netnstest.NewHolder(t).Many(200, "127.0.0.1")
	saved := t.TempDir()
	if out, err := exec.Command(bin, "dump", "--all", "--netns", "self", "-q", "-o", saved).CombinedOutput(); err != nil {
		t.Fatalf("dump --all: %v: %s", err, out)
	}
	run := func(extra ...string) string {
		m, s := openPty(t)
		defer m.Close()
		cmd := exec.Command(bin, append([]string{"restore", "--partial", "--match", saved}, extra...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, s
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		done := make(chan struct{})
		go func() { io.Copy(&stderr, m); close(done) }()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("restore --match: %v: %s%s", err, stdout.String(), stderr.String())
		}
		<-done
		if !bytes.Contains(stdout.Bytes(), []byte("saved sockets:")) {
			t.Errorf("no summary on stdout: %q", stdout.String())
		}
		return stderr.String()
	}
	if bar := run(); !regexp.MustCompile(`\rrestore 100% \|[^|]+\| \(\d+/\d+, \d+ sockets/s\)`).MatchString(bar) {
		t.Errorf("no finished restore bar on the terminal: %q", bar)
	}
	if out := run("-q"); out != "" {
		t.Errorf("with -q, the terminal got %q", out)
	}
}
