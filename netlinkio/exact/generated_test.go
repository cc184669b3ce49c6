package exact_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// The committed object and its Go are what bpf/iter.bpf.c compiles to:
// go generate's command (gen.go) is run into a scratch directory and the
// outputs compared byte for byte. It needs clang-14 and the libbpf
// headers (scripts/deps.sh installs them); under CI a missing one fails.
func TestGeneratedIsCurrent(t *testing.T) {
	netnstest.Require(t, "clang-14", "llvm-strip")
	if _, err := os.Stat("/usr/include/bpf/bpf_helpers.h"); err != nil {
		if netnstest.InCI() {
			t.Fatal("libbpf-dev's headers are missing")
		}
		t.Skip("no /usr/include/bpf (libbpf-dev)")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "tool", "bpf2go", "-output-dir", out,
		"-cc", "clang-14", "-strip", "llvm-strip", "-target", "bpfel", "iter", "bpf/iter.bpf.c",
		"--", "-I/usr/include/bpf", "-O2", "-g", "-Wall", "-Werror")
	cmd.Env = append(os.Environ(), "GOPACKAGE=exact")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, b)
	}
	for _, f := range []string{"iter_bpfel.o", "iter_bpfel.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s is not what bpf/iter.bpf.c compiles to: run go generate ./netlinkio/exact", f)
		}
	}
}
