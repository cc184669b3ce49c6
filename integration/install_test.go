package integration

// make install into a DESTDIR: the files, the man pages man renders, the
// bash completion bash loads, the unit systemd-analyze accepts; make
// uninstall takes every file away again.

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// installedFiles lists the files (not directories) below root.
func installedFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, "/"+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func makeIn(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-C", ".."}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestInstallUninstall(t *testing.T) {
	netnstest.Require(t, "make", "go", "install", "man", "systemd-analyze", "bash")
	dest, build := t.TempDir(), t.TempDir()
	vars := []string{"DESTDIR=" + dest, "BUILD=" + build, "PREFIX=/usr"}
	makeIn(t, append([]string{"install"}, vars...)...)
	want := []string{
		"/usr/bin/inetcr",
		"/usr/lib/systemd/system/inetcr.service",
		"/usr/share/bash-completion/completions/inetcr",
		"/usr/share/man/man5/inetcr.5",
		"/usr/share/man/man8/inetcr.8",
	}
	if got := installedFiles(t, dest); !slices.Equal(got, want) {
		t.Fatalf("make install put in place %q, want %q", got, want)
	}

	t.Run("man", func(t *testing.T) {
		// Each page renders, and says what it must: every command and
		// flag of the command line; every part of the tree and the format.
		for page, wants := range map[string][]string{
			"man8/inetcr.8": {"NAME", "inetcr - checkpoint and restore", "SYNOPSIS", "COMMANDS", "mount", "--read-only", "--background", "dump", "--quiet", "version", "restore", "decode", "encode", "completion", "Mount options", "allow_other", "CapabilityBoundingSet", "SEE ALSO"},
			"man5/inetcr.5": {"NAME", "The /inetcr tree", "image.bin", "membership/", "The image format", "IPOPT_MULTICAST_IF", "ipopt/ttl", "SEE ALSO"},
		} {
			cmd := exec.Command("man", "-l", filepath.Join(dest, "usr/share/man", page))
			cmd.Env = append(os.Environ(), "MANWIDTH=100", "MANPAGER=cat", "PAGER=cat")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("man -l %s: %v: %s", page, err, stderr.String())
				continue
			}
			// tbl and troff may say a narrow column's line is not justified;
			// anything else is a fault of the page.
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if l != "" && !strings.Contains(l, "cannot adjust line") && !strings.Contains(l, "can't break line") {
					t.Errorf("man -l %s: %s", page, l)
				}
			}
			for _, w := range wants {
				if !strings.Contains(string(out), w) {
					t.Errorf("man -l %s does not say %q", page, w)
				}
			}
		}
	})

	t.Run("completion", func(t *testing.T) {
		out, code := netnstest.RunArgv(t, []string{"bash", "-c", "source " + filepath.Join(dest, "usr/share/bash-completion/completions/inetcr") + " && complete -p inetcr"})
		if code != 0 || !strings.Contains(out, "-F _inetcr inetcr") {
			t.Errorf("bash does not load the completion: exit %d: %s", code, out)
		}
	})

	t.Run("unit", func(t *testing.T) {
		// systemd-analyze verify checks that ExecStart's binary exists and
		// that the Documentation= pages are there, on this system: point
		// both at the DESTDIR.
		unit, err := os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system/inetcr.service"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(unit), "ExecStart=/usr/bin/inetcr mount") {
			t.Errorf("the installed unit does not run the installed binary:\n%s", unit)
		}
		check := filepath.Join(t.TempDir(), "inetcr.service")
		if err := os.WriteFile(check, []byte(strings.ReplaceAll(string(unit), "/usr/bin/inetcr", filepath.Join(dest, "usr/bin/inetcr"))), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("systemd-analyze", "verify", check)
		cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(dest, "usr/share/man"), "SYSTEMD_LOG_COLOR=0")
		out, err := cmd.CombinedOutput()
		// verify exits 0 on settings it ignores, but names them.
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify: %v: %s", err, out)
		}
	})

	makeIn(t, append([]string{"uninstall"}, vars...)...)
	if got := installedFiles(t, dest); len(got) > 0 {
		t.Errorf("make uninstall left %q", got)
	}
}
