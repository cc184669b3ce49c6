package netlinkio_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/exact"
)

// auto picks the exact reader where it runs; where it cannot, auto takes
// the stock engine with one log line saying why, and "exact" forced fails
// with the same reason.
func TestAutoFallsBackWithOneLine(t *testing.T) {
	var lines []string
	logf := func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	b, err := netlinkio.OpenWith("auto", exact.Config{}, logf)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "exact" || len(lines) != 0 {
		t.Errorf("auto as root with BTF: backend %s, log %q; want exact, nothing logged", b.Name(), lines)
	}
	b.Close()

	noBTF := exact.Config{BTFPath: filepath.Join(t.TempDir(), "vmlinux")}
	b, err = netlinkio.OpenWith("auto", noBTF, logf)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != "stock" || len(lines) != 1 || !strings.Contains(lines[0], "no BTF at") {
		t.Errorf("auto without BTF: backend %s, log %q; want stock and one line naming the missing BTF", b.Name(), lines)
	}
	_, err = netlinkio.OpenWith("exact", noBTF, logf)
	var cr *exact.CannotRun
	if !errors.As(err, &cr) || !strings.Contains(err.Error(), "no BTF at") {
		t.Errorf("exact forced without BTF: %v; want the reason", err)
	}
}
