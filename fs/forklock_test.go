package fs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// No program started while the tree mounts inherits its /dev/fuse
// connection: one that did would keep a dead mount alive after the server
// is gone, and every caller of it hanging.
func TestMountLeaksNoConnection(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a direct mount needs root")
	}
	stop := make(chan struct{})
	var mu sync.Mutex
	var children []*exec.Cmd
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				n := len(children)
				mu.Unlock()
				if n >= 200 {
					time.Sleep(time.Millisecond) // enough programs; each holds a pidfd here
					continue
				}
				c := exec.Command("sleep", "20")
				if c.Start() == nil {
					mu.Lock()
					children = append(children, c)
					mu.Unlock()
				}
			}
		}()
	}
	t.Cleanup(func() {
		for _, c := range children {
			c.Process.Kill()
			c.Wait()
		}
	})
	for i := 0; i < 20; i++ {
		dir := t.TempDir()
		srv, err := inetcrfs.Mount(dir, inetcrfs.Options{Backend: stock.NewStock()})
		if err != nil {
			t.Fatal(err)
		}
		for try := 0; srv.Unmount() != nil; try++ {
			if try == 100 {
				t.Fatalf("%s stays mounted", dir)
			}
			time.Sleep(20 * time.Millisecond) // right after the mount the kernel may say EBUSY
		}
	}
	close(stop)
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	leaked := 0
	for _, c := range children {
		fds, _ := os.ReadDir("/proc/" + strconv.Itoa(c.Process.Pid) + "/fd")
		for _, fd := range fds {
			if to, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(c.Process.Pid), "fd", fd.Name())); to == "/dev/fuse" {
				leaked++
			}
		}
	}
	if leaked > 0 {
		t.Fatalf("%d descriptors of /dev/fuse in the %d programs started during 20 mounts", leaked, len(children))
	}
	t.Logf("%d programs started during 20 mounts; none holds /dev/fuse", len(children))
}
