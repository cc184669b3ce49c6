package integration

// inetcr version and --version: the build information Go stamps in a
// binary built inside a git clone.

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

func TestVersion(t *testing.T) {
	netnstest.Require(t, "git", "go")
	// A clone of the committed tree: a checkout of this repository may be
	// a git worktree, whose revision Go does not stamp.
	clone := filepath.Join(t.TempDir(), "inetcr")
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", clone}, args...)...)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", "..", clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v: %s", err, out)
	}
	build := func() string {
		bin := filepath.Join(t.TempDir(), "inetcr")
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "./cmd/inetcr")
		cmd.Dir = clone
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build in the clone: %v: %s", err, out)
		}
		return bin
	}
	version := func(bin string, arg string) string {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("inetcr %s: %v", arg, err)
		}
		return string(out)
	}

	bin := build()
	got := version(bin, "version")
	t.Logf("inetcr version:\n%s", got)
	rev := git("rev-parse", "HEAD")
	// Go names a build of a commit that has no tag with a pseudo-version
	// that ends in the revision's first 12 digits.
	module, _, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(module, "inetcr v") || !strings.HasSuffix(module, "-"+rev[:12]) {
		t.Errorf("first line %q: want inetcr and a version of revision %s", module, rev)
	}
	want := module + "\n" +
		"revision: " + rev + "\n" +
		"committed: " + git("log", "-1", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", "--format=%cd") + "\n" +
		"modified: false\n" +
		"go: " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if got != want {
		t.Errorf("inetcr version:\n%s\nwant:\n%s", got, want)
	}
	if v := version(bin, "--version"); v != got {
		t.Errorf("inetcr --version:\n%s\nwant what inetcr version says:\n%s", v, got)
	}

	// A change not committed shows.
	readme := filepath.Join(clone, "README.md")
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(readme, append(b, "\nchanged\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := version(build(), "version"); !strings.Contains(got, "modified: true\n") || !strings.Contains(got, rev[:12]+"+dirty\n") {
		t.Errorf("inetcr version of a modified tree:\n%s", got)
	}
}
