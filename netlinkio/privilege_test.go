package netlinkio_test

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// unprivileged starts a process with no capabilities as nobody and returns
// it as a Caller.
func unprivileged(t *testing.T) netlinkio.Caller {
	t.Helper()
	netnstest.Require(t, "setpriv")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		c, err := netlinkio.CallerOf(cmd.Process.Pid, 65534)
		if err == nil && c.Comm == "sleep" {
			if c.Caps != 0 {
				t.Fatalf("setpriv left capabilities %#x", c.Caps)
			}
			return c
		}
		exec.Command("sleep", "0.01").Run()
	}
	t.Fatal("setpriv did not start sleep")
	return netlinkio.Caller{}
}

func TestPrivilegedChangesNeedCapabilities(t *testing.T) {
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	engine := stock.NewStock()
	before := netnstest.Dump(t, engine, s.Inode)
	nobody := unprivileged(t)
	root, err := netlinkio.CallerOf(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir, name, value string
		needs            string // "" when nobody may do it
	}{
		{"sockopt", "mark", "7", "CAP_NET_ADMIN or CAP_NET_RAW"},
		{"sockopt", "priority", "6", ""},
		{"sockopt", "priority", "7", "CAP_NET_ADMIN or CAP_NET_RAW"},
		{"ipopt", "transparent", "1", "CAP_NET_ADMIN or CAP_NET_RAW"},
		{"sockopt", "sndbuf", "16777216", "CAP_NET_ADMIN"},
		{"sockopt", "rcvbuf", "16777216", "CAP_NET_ADMIN"},
		{"sockopt", "rcvbuf", "65536", ""},
		{"ipopt", "ttl", "9", ""},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			o, _ := image.LookupOption(c.dir, c.name)
			err := netlinkio.SetOption(engine, s.Inode, o, c.value, nobody.Allow)
			if c.needs == "" {
				if err != nil {
					t.Fatalf("nobody may set %s: %v", o.Path(), err)
				}
				return
			}
			if !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), c.needs) {
				t.Fatalf("nobody setting %s: %v, want EPERM naming %s", o.Path(), err, c.needs)
			}
			if err := netlinkio.SetOption(engine, s.Inode, o, c.value, root.Allow); err != nil {
				t.Fatalf("root setting %s: %v", o.Path(), err)
			}
		})
	}
	t.Run("bind to a port below 1024", func(t *testing.T) {
		fresh := h.Socket("udp")
		freshBefore := netnstest.Dump(t, engine, fresh.Inode)
		img := before.Clone()
		img.Local = netip.MustParseAddrPort("127.0.0.1:80")
		err := netlinkio.RestoreGuarded(engine, fresh.Inode, img, nobody.Allow)
		if !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), "CAP_NET_BIND_SERVICE") {
			t.Fatalf("restore by nobody: %v, want EPERM naming CAP_NET_BIND_SERVICE", err)
		}
		netnstest.SameImage(t, "after a refused restore", freshBefore, netnstest.Dump(t, engine, fresh.Inode))
	})
}
