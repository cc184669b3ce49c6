package fs_test

import (
	"bufio"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// stalling lists one socket whose dump hangs until the test ends, as a
// holder whose /proc does not answer would.
type stalling struct {
	netlinkio.Backend
	release chan struct{}
}

const stalledInode = 4242

func (b stalling) List() ([]image.Socket, error) {
	return []image.Socket{{Inode: stalledInode, Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP,
		State: 7, Local: netip.MustParseAddrPort("0.0.0.0:5000"), Peer: netip.MustParseAddrPort("0.0.0.0:0")}}, nil
}

func (b stalling) Holders(uint64) ([]image.Holder, error) {
	return []image.Holder{{Pid: os.Getpid(), Fd: 0, Comm: "test"}}, nil
}

func (b stalling) Dump(uint64) (*image.Image, error) {
	<-b.release
	return nil, image.ErrNoSocket
}

// A program that handles a signal is freed by it while the tree waits for
// a socket: the request is answered EINTR, and its handler runs.
func TestSignalFreesTheCaller(t *testing.T) {
	b := stalling{Backend: stock.NewStock(), release: make(chan struct{})}
	dir := t.TempDir()
	srv, err := inetcrfs.Mount(dir, inetcrfs.Options{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(b.release)
		srv.Unmount()
	})
	script := `
import signal, sys, time
class Freed(Exception): pass
def freed(*a): raise Freed()
signal.signal(signal.SIGUSR1, freed)
print("ready", flush=True)
start = time.time()
try:
    open(sys.argv[1]).read()
    print("read", flush=True)
except Freed:
    print("freed %.3f" % (time.time() - start), flush=True)
except OSError as e:
    print("error", e, flush=True)
`
	cmd := exec.Command("python3", "-c", script, filepath.Join(dir, "4242", "ipopt", "ttl"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("python3: %q", lines.Text())
	}
	time.Sleep(500 * time.Millisecond) // into the read, which waits on the dump
	cmd.Process.Signal(syscall.SIGUSR1)
	got := make(chan string, 1)
	go func() {
		lines.Scan()
		got <- lines.Text()
	}()
	select {
	case line := <-got:
		if !strings.HasPrefix(line, "freed ") {
			t.Fatalf("after the signal: %q, want the handler to run (freed)", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the signal did not free the caller within 5 s: the request still waits on the dump")
	}
}
