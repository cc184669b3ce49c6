package main

// docs/service.md says what the program and the unit do: the tests keep
// the two from drifting apart.

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/docs"
)

func TestServiceDocShowsTheUnit(t *testing.T) {
	unit, err := os.ReadFile("../../dist/inetcr.service.in")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(docs.Service, "```\n"+string(unit)+"```\n") {
		t.Error("docs/service.md does not show dist/inetcr.service.in as it is")
	}
	// Every capability of the unit has its row, saying what needs it.
	sc := bufio.NewScanner(strings.NewReader(string(unit)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapabilityBoundingSet="); ok {
			for _, c := range strings.Fields(v) {
				if !strings.Contains(docs.Service, "| `"+c+"` |") {
					t.Errorf("docs/service.md has no row for %s", c)
				}
			}
		}
	}
}

func TestServiceDocListsMountOptions(t *testing.T) {
	for _, o := range mountOptionTable {
		name := "`" + o.Name + "`"
		if o.Value {
			name = "`" + o.Name + "=KIND`"
		}
		if !strings.Contains(docs.Service, name) {
			t.Errorf("docs/service.md does not list the mount option %s", name)
		}
	}
}

// TestManPageHasEveryCommand: inetcr(8) names every visible command and
// each of its flags.
func TestManPageHasEveryCommand(t *testing.T) {
	app := newApp()
	md, err := app.ToMarkdown()
	if err != nil {
		t.Fatal(err)
	}
	page := string(roff(manPage8(md)))
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		if !strings.Contains(page, "\n.SH "+c.Name) {
			t.Errorf("inetcr(8) lacks the command %s", c.Name)
		}
		for _, f := range c.Flags {
			if n := f.Names()[0]; !strings.Contains(page, `\fB--`+n) {
				t.Errorf("inetcr(8) lacks %s --%s", c.Name, n)
			}
		}
	}
	if !strings.HasPrefix(page, "'\\\" t\n") || strings.Count(page, "'\\\" t") != 1 {
		t.Errorf("the page must start with one tbl line: %q", page[:40])
	}
}

func TestSdNotify(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@inetcr-test-notify-" + t.Name()} {
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("NOTIFY_SOCKET", name)
		sdNotifier("READY=1\nSTATUS=x")()
		buf := make([]byte, 100)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		conn.Close()
		if err != nil || string(buf[:n]) != "READY=1\nSTATUS=x" {
			t.Errorf("%s: got %q, %v", name, buf[:n], err)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if sdNotifier("READY=1") != nil {
		t.Error("a notifier without NOTIFY_SOCKET")
	}
}
