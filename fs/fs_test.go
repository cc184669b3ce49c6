package fs_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

func TestMain(m *testing.M) { netnstest.Main(m) }

// run starts Run in the background and waits for the mount.
func run(t *testing.T, dir string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- inetcrfs.Run(dir, inetcrfs.Options{Backend: stock.NewStock()}) }()
	for deadline := time.Now().Add(5 * time.Second); !netnstest.Mounted(t, dir); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not mounted")
		}
	}
	return done
}

func wait(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestMountNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if srv, err := inetcrfs.Mount(f, inetcrfs.Options{Backend: stock.NewStock()}); err == nil {
		srv.Unmount()
		t.Fatal("mounted on a file")
	}
	if _, err := inetcrfs.Mount(filepath.Join(t.TempDir(), "nonexistent"), inetcrfs.Options{}); err == nil {
		t.Fatal("mounted on nothing")
	}
}

func TestRunReturnsOnUnmount(t *testing.T) {
	dir := t.TempDir()
	done := run(t, dir)
	// Right after the mount the kernel may still be settling (EBUSY).
	for try := 0; ; try++ {
		out, err := exec.Command("umount", dir).CombinedOutput()
		if err == nil {
			break
		}
		if try == 50 {
			t.Fatalf("umount: %v %s", err, out)
		}
		t.Logf("umount: %v %s", err, out)
		time.Sleep(20 * time.Millisecond)
	}
	wait(t, done)
}

func TestRunUnmountsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		dir := t.TempDir()
		done := run(t, dir)
		if _, err := os.ReadDir(dir); err != nil {
			t.Fatal(err)
		}
		syscall.Kill(os.Getpid(), sig)
		wait(t, done)
		if netnstest.Mounted(t, dir) {
			t.Fatalf("%v: still mounted", sig)
		}
	}
}

// TestRunBusy: a process whose cwd is in the tree keeps a plain unmount
// from working; Run detaches the mount and returns anyway.
func TestRunBusy(t *testing.T) {
	dir := t.TempDir()
	done := run(t, dir)
	// The shell changes into the tree after exec. With exec.Cmd.Dir the
	// child would chdir between fork and exec, while the Go runtime in
	// this process (the tree's own server) waits for that exec; under
	// -race that hung once with the child stuck in the FUSE request.
	sleep := exec.Command("sh", "-c", `cd "$0" && echo ready && exec sleep 30`, dir)
	out, err := sleep.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the shell did not enter the tree: %q, %v", line, err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	wait(t, done)
	if netnstest.Mounted(t, dir) {
		t.Fatal("still mounted")
	}
}
