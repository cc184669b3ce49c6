package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

func TestDumpAllWritesEverySocket(t *testing.T) {
	bin := buildInetcr(t)
	inodes := netnstest.NewHolder(t).Many(60, "127.0.0.1")
	dir := filepath.Join(t.TempDir(), "images")
	if r := run(t, bin, nil, "dump", "--all", "-j", "3", "-o", dir); r.code != 0 {
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
