package netlinkio_test

import (
	"errors"
	"net/netip"
	"os"
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
func unprivileged(t *testing.T) *netlinkio.Caller {
	t.Helper()
	netnstest.Require(t, "setpriv")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// exec sets the command name before it commits the new credentials:
	// "sleep" with root's capabilities is a moment of the exec, not yet
	// what setpriv left.
	var last netlinkio.Caller
	for i := 0; i < 100; i++ {
		c, err := netlinkio.CallerOf(cmd.Process.Pid, 65534, 65534)
		if err == nil && c.Comm == "sleep" {
			if c.Caps == 0 {
				return &c
			}
			last = c
		}
		exec.Command("sleep", "0.01").Run()
	}
	if last.Comm == "sleep" {
		t.Fatalf("setpriv left capabilities %#x", last.Caps)
	}
	t.Fatal("setpriv did not start sleep")
	return nil
}

// TestTheKernelJudgesTheCaller: a change made for a caller is made by a
// thread that wears its credentials, so the kernel refuses it what it
// would refuse the caller's own setsockopt or bind, and the socket stays
// as it was; the same change made for root goes through.
func TestTheKernelJudgesTheCaller(t *testing.T) {
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	engine := stock.NewStock()
	nobody := unprivileged(t)
	root, err := netlinkio.CallerOf(os.Getpid(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	target, err := netlinkio.Take(engine, s.Inode)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	cases := []struct {
		dir, name, value string
		refused          error // for nobody; nil: allowed
	}{
		{"sockopt", "mark", "7", syscall.EPERM},
		{"sockopt", "priority", "6", nil},
		{"sockopt", "priority", "7", syscall.EPERM},
		{"ipopt", "transparent", "1", syscall.EPERM},
		{"sockopt", "sndbuf", "16777216", syscall.EPERM},
		{"sockopt", "rcvbuf", "16777216", syscall.EPERM},
		{"sockopt", "rcvbuf", "65536", nil},
		{"ipopt", "ttl", "9", nil},
		// A security option (IPOPT_SEC, 130) needs CAP_NET_RAW; the
		// kernel's ip_options_compile refuses it with EINVAL.
		{"ipopt", "options", "820b00000000000000000000", syscall.EINVAL},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			o, _ := image.LookupOption(c.dir, c.name)
			before := netnstest.Dump(t, engine, s.Inode)
			err := target.SetOption(nobody, o, c.value)
			if c.refused == nil {
				if err != nil {
					t.Fatalf("nobody may set %s: %v", o.Path(), err)
				}
				return
			}
			if !errors.Is(err, c.refused) || c.refused == syscall.EPERM && !strings.Contains(err.Error(), "uid 65534 with no capabilities") {
				t.Fatalf("nobody setting %s: %v, want %v saying whom the kernel judged", o.Path(), err, c.refused)
			}
			netnstest.SameImage(t, "after a refused change", before, netnstest.Dump(t, engine, s.Inode))
			if err := target.SetOption(&root, o, c.value); err != nil {
				t.Fatalf("root setting %s: %v", o.Path(), err)
			}
		})
	}
	t.Run("bind to a port below 1024", func(t *testing.T) {
		fresh := h.Socket("udp")
		freshBefore := netnstest.Dump(t, engine, fresh.Inode)
		img := freshBefore.Clone()
		img.Local = netip.MustParseAddrPort("127.0.0.1:80")
		ft, err := netlinkio.Take(engine, fresh.Inode)
		if err != nil {
			t.Fatal(err)
		}
		defer ft.Close()
		err = ft.Restore(nobody, img)
		if !errors.Is(err, syscall.EACCES) {
			t.Fatalf("restore by nobody: %v, want EACCES", err)
		}
		netnstest.SameImage(t, "after a refused restore", freshBefore, netnstest.Dump(t, engine, fresh.Inode))
		if err := ft.Restore(&root, img); err != nil {
			t.Fatalf("restore by root: %v", err)
		}
	})
}
