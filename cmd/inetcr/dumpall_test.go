package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

func TestDumpAllWritesEverySocket(t *testing.T) {
	bin := buildInetcr(t)
	inodes := netnstest.NewHolder(t).Many(60, "127.0.0.1")
	dir := filepath.Join(t.TempDir(), "images")
	if r := run(t, bin, nil, "dump", "--all", "--netns", "self", "-j", "3", "-o", dir); r.code != 0 {
		t.Fatalf("dump --all exited %d: %s", r.code, r.stderr)
	}
	for i, ino := range inodes {
		name := strconv.FormatUint(ino, 10)
		got, err := os.ReadFile(filepath.Join(dir, name+".bin"))
		if err != nil {
			t.Fatalf("socket %d: %v", ino, err)
		}
		if i%20 != 0 {
			continue
		}
		one := run(t, bin, nil, "dump", name)
		if one.code != 0 || !bytes.Equal(one.stdout, got) {
			t.Errorf("socket %d: dump --all wrote %d bytes that differ from dump's %d", ino, len(got), len(one.stdout))
		}
	}
	if r := run(t, bin, nil, "dump", "--all"); r.code == 0 || r.errLine(t) != "inetcr: dump --all: give the directory with -o DIR" {
		t.Errorf("dump --all without -o: exit %d, %q", r.code, r.stderr)
	}
}

// TestDumpAllAsAnotherUser: a user that cannot reach the holders of the
// listed sockets (root's, here) gets no images; dump --all must say so and
// fail, not count the sockets as closed.
func TestDumpAllAsAnotherUser(t *testing.T) {
	netnstest.Require(t, "setpriv")
	bin := buildInetcr(t)
	// A directory the user can enter, with the binary and the output.
	pub, err := os.MkdirTemp("", "inetcr-dumpall-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	os.Chmod(pub, 0o777)
	userBin := filepath.Join(pub, "inetcr")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(userBin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	inodes := netnstest.NewHolder(t).Many(3, "127.0.0.1")
	out := filepath.Join(pub, "images")
	cmd := exec.Command("setpriv", "--reuid=60001", "--regid=60001", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", userBin, "dump", "--all", "-o", out)
	stderr, err := cmd.CombinedOutput()
	t.Logf("as uid 60001: %v: %s", err, stderr)
	if err == nil {
		t.Errorf("dump --all as uid 60001 of root's sockets exited 0: %s", stderr)
	}
	msg := string(stderr)
	if strings.Contains(msg, "closed before") || !strings.Contains(msg, "still open") || !strings.Contains(msg, "uid 60001") {
		t.Errorf("dump --all does not name the cause: %s", msg)
	}
	for _, ino := range inodes {
		if !strings.Contains(msg, strconv.FormatUint(ino, 10)) {
			t.Errorf("the message does not name socket %d: %s", ino, msg)
		}
	}
}
