// Package netnstest runs tests inside a private network and mount namespace
// and gives them sockets held by another process (python3), so that nothing
// on the host is touched and every socket under test was made by a program
// inetcr did not write.
package netnstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const marker = "INETCR_NETNS"

// Main runs the package's tests in a fresh network and mount namespace:
// the test binary re-executes itself with CLONE_NEWNET|CLONE_NEWNS, brings
// up loopback and makes every mount private, so mounts and interfaces made
// by tests vanish with it. Use it as TestMain's body.
func Main(m *testing.M) {
	if os.Getenv(marker) == "" {
		if os.Geteuid() != 0 {
			if InCI() {
				fmt.Fprintln(os.Stderr, "netnstest: tests need root for a private network namespace")
				os.Exit(1)
			}
			fmt.Fprintln(os.Stderr, "netnstest: not root; skipping the package's tests")
			os.Exit(0)
		}
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), marker+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "netnstest:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "netnstest: make mounts private:", err)
		os.Exit(1)
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "netnstest: ip link set lo up: %v %s\n", err, out)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// InCI reports whether the tests run under CI, where a missing tool fails.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require fails the test (under CI) or skips it (elsewhere) when one of the
// named programs is not on PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if InCI() {
				t.Fatalf("%s is not installed; .ci/run must install it", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// Run runs a command and fails the test if it fails; it returns stdout.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v %s", name, strings.Join(args, " "), err, msg)
	}
	return string(out)
}

// Veth makes a veth pair, name and name+"p", gives name an address (CIDR),
// brings both up and deletes the pair when the test ends. It returns the
// ifindex of name. (This kernel has no dummy driver; veth is built in.)
func Veth(t testing.TB, name, cidr string) int {
	t.Helper()
	return veth(t, name, "addr", "add", cidr, "dev", name)
}

// veth makes the pair as Veth says, addressing name with `ip addrArgs...`.
func veth(t testing.TB, name string, addrArgs ...string) int {
	t.Helper()
	Run(t, "ip", "link", "add", name, "type", "veth", "peer", "name", name+"p")
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	Run(t, "ip", "link", "set", name+"p", "up")
	Run(t, "ip", "link", "set", name, "multicast", "on", "up")
	Run(t, "ip", addrArgs...)
	ifi, err := ifindex(name)
	if err != nil {
		t.Fatal(err)
	}
	return ifi
}

// ifindex asks the kernel rather than /sys, which shows the namespace of
// whoever mounted it.
func ifindex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
