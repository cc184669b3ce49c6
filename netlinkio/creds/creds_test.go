package creds_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/creds"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { netnstest.Main(m) }

const nobody = 65534

func capBit(c int) uint64 { return 1 << uint(c) }

// udpSocket is a socket this (root) process made, as the server's
// duplicate of another process's socket would be.
func udpSocket(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestKernelJudgesTheWearer: the kernel's own checks decide what the
// wearing thread may do, exactly as for a process with those credentials.
func TestKernelJudgesTheWearer(t *testing.T) {
	cases := []struct {
		name string
		caps uint64
		do   func(fd int) error
		want error // nil: allowed
	}{
		{"mark without CAP_NET_ADMIN", 0, func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, 7) }, unix.EPERM},
		{"mark with CAP_NET_ADMIN", capBit(unix.CAP_NET_ADMIN), func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, 7) }, nil},
		{"priority 7 without a capability", 0, func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PRIORITY, 7) }, unix.EPERM},
		{"priority 6 without a capability", 0, func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PRIORITY, 6) }, nil},
		{"transparent without a capability", 0, func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TRANSPARENT, 1) }, unix.EPERM},
		{"rcvbufforce without CAP_NET_ADMIN", 0, func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8000000) }, unix.EPERM},
		{"bind to port 80 without CAP_NET_BIND_SERVICE", 0, func(fd int) error {
			return unix.Bind(fd, &unix.SockaddrInet4{Port: 80, Addr: [4]byte{127, 0, 0, 1}})
		}, unix.EACCES},
		{"bind to port 80 with CAP_NET_BIND_SERVICE", capBit(unix.CAP_NET_BIND_SERVICE), func(fd int) error {
			return unix.Bind(fd, &unix.SockaddrInet4{Port: 80, Addr: [4]byte{127, 0, 0, 1}})
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fd := udpSocket(t)
			err := creds.Run(creds.Creds{Uid: nobody, Gid: nobody, Caps: tc.caps}, func() error { return tc.do(fd) })
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestOnlyTheThreadWears: the rest of the process keeps root's
// credentials while a thread wears another's, and the thread is gone once
// closed, so nothing else ever runs on it.
func TestOnlyTheThreadWears(t *testing.T) {
	th, err := creds.Wear(creds.Creds{Uid: nobody, Gid: nobody, Groups: []uint32{100, 200}})
	if err != nil {
		t.Fatal(err)
	}
	var tid, uid, gid int
	var groups []int
	if err := th.Do(func() error {
		tid, uid, gid = unix.Gettid(), unix.Geteuid(), unix.Getegid()
		groups, err = unix.Getgroups()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if uid != nobody || gid != nobody || len(groups) != 2 || groups[0] != 100 || groups[1] != 200 {
		t.Errorf("the thread wears uid %d gid %d groups %v, want %d %d [100 200]", uid, gid, groups, nobody, nobody)
	}
	fd := udpSocket(t)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, 7); err != nil || unix.Geteuid() != 0 {
		t.Errorf("the rest of the process lost root: euid %d, SO_MARK: %v", unix.Geteuid(), err)
	}
	th.Close()
	task := "/proc/self/task/" + strconv.Itoa(tid)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d still runs after Close", tid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOfIgnoresCapabilitiesOfAnotherUserNamespace: a process that made a
// user namespace of its own holds every capability there; none of them
// counts here.
func TestOfIgnoresCapabilitiesOfAnotherUserNamespace(t *testing.T) {
	netnstest.Require(t, "unshare", "setpriv", "sleep")
	cmd := exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "-Ur", "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	var c creds.Creds
	deadline := time.Now().Add(5 * time.Second)
	for {
		// setpriv and unshare exec in turn: wait for sleep.
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if string(comm) == "sleep\n" {
			var err error
			if c, err = creds.Of(pid, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare -Ur did not start sleep: comm %q", comm)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c.Caps != 0 {
		t.Errorf("Of gives %#x for a process of another user namespace, want no capabilities", c.Caps)
	}
	self, err := creds.Of(os.Getpid(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if self.Caps&capBit(unix.CAP_NET_ADMIN) == 0 {
		t.Errorf("Of gives %#x for this root process, want CAP_NET_ADMIN among them", self.Caps)
	}
}
