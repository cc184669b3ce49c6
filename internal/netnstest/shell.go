package netnstest

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RunArgv runs a command line and returns its combined output and exit
// status. It fails the test only when the command cannot be started.
func RunArgv(t testing.TB, argv []string) (string, int) {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return string(out), exitErr.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// Sh runs a script with bash (not dash, because dash words every failed
// write "I/O error") and returns its combined output and exit status.
func Sh(t testing.TB, script string) (string, int) {
	t.Helper()
	return RunArgv(t, []string{"bash", "-c", script})
}

// MustSh runs a script with Sh and fails the test unless it exits 0.
func MustSh(t testing.TB, script string) string {
	t.Helper()
	out, code := Sh(t, script)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", script, code, out)
	}
	return out
}

// ReadFile returns the contents of the file at path, failing the test if
// it cannot be read.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Mounted reports whether dir is a mount point in this mount namespace.
func Mounted(t testing.TB, dir string) bool {
	t.Helper()
	return Mounts(t, dir) > 0
}

// Mounts counts the mounts at dir, stacked ones included.
func Mounts(t testing.TB, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == dir {
			n++
		}
	}
	return n
}

// Names returns the names of the entries of dir, failing the test if it
// cannot be read.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
