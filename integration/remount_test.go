package integration

// kill -9 of `inetcr mount`, then `inetcr mount` again on the same path.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// TestKillRemount builds inetcr, mounts with it, kills it with SIGKILL and
// mounts again on the same path: the new mount replaces the dead one.
func TestKillRemount(t *testing.T) {
	netnstest.Require(t, "go")
	bin := filepath.Join(t.TempDir(), "inetcr")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/inetcr/inetcr/cmd/inetcr").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	serve := func() *exec.Cmd {
		cmd := exec.Command(bin, "mount", "--allow-other", "--netns", "self", dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The dead mount is listed until the new server detaches it, so
		// wait for a listing to work rather than for a mount to show.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, err := os.ReadDir(dir)
			if err == nil && netnstest.Mounted(t, dir) {
				return cmd
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("inetcr mount did not serve: %v", err)
			}
		}
	}
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
	cmd := serve()
	// Let the server finish its first request (go-fuse's poll probe): a
	// server killed inside it cannot exit (see TestSignal).
	time.Sleep(200 * time.Millisecond)
	killServer(t, cmd, dir)
	if _, err := os.Stat(dir); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("stat of the dead mount: %v, want ENOTCONN", err)
	}
	cmd = serve()
	if got := netnstest.ReadFile(t, filepath.Join(sockDir(dir, s), "ipopt", "ttl")); got != "64\n" {
		t.Errorf("ttl through the new mount: %q", got)
	}
	// Again at once: the kernel still holds the root's attributes from a
	// stat just made, so a stat of the dead mount succeeds for up to half
	// a second. The new server must still see it is dead and replace it,
	// not mount on top of it.
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	killServer(t, cmd, dir)
	cmd = serve()
	if n := netnstest.Mounts(t, dir); n != 1 {
		t.Errorf("%d mounts at %s after a remount right after kill -9, want 1", n, dir)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("inetcr mount after SIGTERM: %v", err)
	}
	if netnstest.Mounted(t, dir) {
		t.Errorf("%s still mounted", dir)
	}
}
