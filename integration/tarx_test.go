package integration

// tar -x of an unchanged backup must change nothing on the wire: GNU tar's
// default extraction unlinks every file it puts back, and an unlink of a
// membership file is a leave only when nothing creates the name again
// (docs/tree.md, "Unlink").

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// igmpCapture is a tcpdump that prints the IGMP packets on one interface.
type igmpCapture struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	read  chan struct{}
}

// captureIGMP starts tcpdump on dev and returns once it captures.
func captureIGMP(t *testing.T, dev string) *igmpCapture {
	t.Helper()
	netnstest.Require(t, "tcpdump")
	c := &igmpCapture{cmd: exec.Command("tcpdump", "-l", "-n", "-i", dev, "igmp"), read: make(chan struct{})}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop() })
	go func() {
		defer close(c.read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if !strings.Contains(sc.Text(), " igmp ") {
				continue // the blank line tcpdump ends with
			}
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
	}()
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errOut)
		var said []string
		for sc.Scan() {
			said = append(said, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				listening <- ""
			}
		}
		listening <- strings.Join(said, "\n")
	}()
	select {
	case msg := <-listening:
		if msg != "" {
			t.Fatalf("tcpdump: %s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start capturing within 10 s")
	}
	return c
}

// stop ends the capture (it waits a little for packets in flight) and
// returns the packets it printed.
func (c *igmpCapture) stop() []string {
	if c.cmd.ProcessState == nil {
		time.Sleep(300 * time.Millisecond)
		c.cmd.Process.Signal(syscall.SIGINT)
		<-c.read
		c.cmd.Wait()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

// quietIGMP makes dev repeat its IGMPv3 reports after 10 ms instead of up
// to a second, so that the reports of a join are all sent by the time a
// test starts to count.
func quietIGMP(t *testing.T, dev string) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+dev+"/igmpv3_unsolicited_report_interval", []byte("10"), 0); err != nil {
		t.Fatal(err)
	}
}

// multicastState is what the kernel says of the memberships: the
// interface's groups, the per-interface lists and source filters, and what
// the tree shows of the socket.
func multicastState(t *testing.T, dev, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(netnstest.Run(t, "ip", "maddr", "show", "dev", dev))
	b.WriteString(netnstest.ReadFile(t, "/proc/net/igmp"))
	b.WriteString(netnstest.ReadFile(t, "/proc/net/mcfilter"))
	b.WriteString(fmt.Sprintf("image %x\n", netnstest.ReadFile(t, filepath.Join(dir, "image.bin"))))
	for _, name := range netnstest.Names(t, filepath.Join(dir, "membership")) {
		b.WriteString(name + ":\n" + netnstest.ReadFile(t, filepath.Join(dir, "membership", name)))
	}
	return b.String()
}

// waitMaddr waits up to two seconds for ip maddr to show (or not) group on
// dev, and returns how long that took.
func waitMaddr(t *testing.T, dev, group string, present bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		out := netnstest.Run(t, "ip", "maddr", "show", "dev", dev)
		if strings.Contains(out, group) == present {
			return time.Since(start)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("after 2 s ip maddr show dev %s still says (want %s present: %v):\n%s", dev, group, present, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTarExtractUnchangedSendsNoIGMP extracts a backup of a socket that did
// not change, with tar's defaults (O_EXCL, unlink, create again) and with
// --overwrite: no IGMP report goes out and nothing about the memberships
// changes. rm and touch of a membership, in the same test, do send reports.
func TestTarExtractUnchangedSendsNoIGMP(t *testing.T) {
	netnstest.Require(t, "tar", "tcpdump")
	ifi := netnstest.Veth(t, "tx0", "10.11.0.1/24")
	quietIGMP(t, "tx0")
	mnt := mount(t)
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	s.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 0})
	s.Must("join", map[string]any{"group": "239.11.0.1", "ifindex": ifi})
	s.Must("join_source", map[string]any{"group": "239.11.0.2", "iface_addr": "10.11.0.1", "source": "10.11.0.9"})
	dir := sockDir(mnt, s)
	ino := strconv.FormatUint(s.Inode, 10)
	backup := filepath.Join(t.TempDir(), "backup.tar")
	netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s %s", mnt, backup, ino))
	before := multicastState(t, "tx0", dir)
	if !strings.Contains(before, "mode include\nsources 10.11.0.9\n") {
		t.Fatalf("the source filter does not show:\n%s", before)
	}
	time.Sleep(200 * time.Millisecond) // the joins' reports are sent

	for _, opt := range []string{"", "--overwrite"} {
		c := captureIGMP(t, "tx0")
		out, code := netnstest.Sh(t, fmt.Sprintf("tar -C %s -xf %s %s 2>&1", mnt, backup, opt))
		reports := c.stop()
		if code != 0 || out != "" {
			t.Errorf("tar -x %s: exit %d: %s", opt, code, out)
		}
		t.Logf("tar -x %s: %d IGMP packets", opt, len(reports))
		if len(reports) != 0 {
			t.Errorf("tar -x %s of an unchanged backup sent %d IGMP packets: %q", opt, len(reports), reports)
		}
		if after := multicastState(t, "tx0", dir); after != before {
			t.Errorf("tar -x %s changed the memberships:\nbefore:\n%s\nafter:\n%s", opt, before, after)
		}
	}

	// The capture can see reports: a real leave and join send some.
	c := captureIGMP(t, "tx0")
	netnstest.MustSh(t, "rm "+dir+"/membership/239.11.0.1@tx0")
	waitMaddr(t, "tx0", "239.11.0.1", false)
	netnstest.MustSh(t, "touch "+dir+"/membership/239.11.0.1@tx0")
	waitMaddr(t, "tx0", "239.11.0.1", true)
	if reports := c.stop(); len(reports) == 0 {
		t.Error("rm and touch of a membership sent no IGMP report that tcpdump saw")
	} else {
		t.Logf("rm and touch: %d IGMP packets", len(reports))
	}
}

// TestRmMembershipLeaves: rm of a membership file leaves the group within a
// moment of rm's exit, and the name is gone for every other process at
// once; a process that unlinks and lives on leaves within the deadline.
func TestRmMembershipLeaves(t *testing.T) {
	ifi := netnstest.Veth(t, "rl0", "10.12.0.1/24")
	mnt := mount(t)
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	s.Must("join", map[string]any{"group": "239.12.0.1", "ifindex": ifi})
	s.Must("join", map[string]any{"group": "239.12.0.2", "ifindex": ifi})
	dir := filepath.Join(sockDir(mnt, s), "membership")
	waitMaddr(t, "rl0", "239.12.0.1", true)

	// rm, then at once other processes: the file is gone for them.
	out := netnstest.MustSh(t, fmt.Sprintf("rm %[1]s/239.12.0.1@rl0; ls %[1]s; cat %[1]s/239.12.0.1@rl0 2>&1; echo cat=$?", dir))
	if strings.Contains(out, "239.12.0.1@rl0\n") || !strings.Contains(out, "No such file or directory") || !strings.Contains(out, "cat=1") {
		t.Errorf("after rm, other processes still see the file:\n%s", out)
	}
	took := waitMaddr(t, "rl0", "239.12.0.1", false)
	t.Logf("rm: ip maddr shows the leave after %v", took)
	if member(t, s, "239.12.0.1", ifi) {
		t.Error("still a member after rm")
	}
	netnstest.MustSh(t, "rm "+dir+"/239.12.0.1@rl0") // undo the probe's join

	// rm alone, then only ip maddr (which does not ask the tree).
	netnstest.MustSh(t, "rm "+dir+"/239.12.0.2@rl0")
	t.Logf("rm: ip maddr alone shows the leave after %v", waitMaddr(t, "rl0", "239.12.0.2", false))

	// A process that unlinks and lives on: the leave comes by the deadline.
	netnstest.MustSh(t, "touch "+dir+"/239.12.0.3@rl0")
	waitMaddr(t, "rl0", "239.12.0.3", true)
	py := exec.Command("python3", "-c", "import os, sys, time; os.unlink(sys.argv[1]); print('unlinked', flush=True); time.sleep(5)", dir+"/239.12.0.3@rl0")
	stdout, _ := py.StdoutPipe()
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { py.Process.Kill(); py.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "unlinked\n" {
		t.Fatalf("python3: %q", line)
	}
	t.Logf("unlink by a live process: ip maddr shows the leave after %v", waitMaddr(t, "rl0", "239.12.0.3", false))

	// rm of a group the socket is not in fails at once.
	if out, code := netnstest.Sh(t, "rm "+dir+"/239.12.0.9@rl0"); code == 0 || !strings.Contains(out, "No such file") {
		t.Errorf("rm of a group not joined: exit %d: %s", code, out)
	}
}
