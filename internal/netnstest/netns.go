package netnstest

import (
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// NetnsAdd makes a network namespace named under /run/netns with `ip netns
// add` (the name gets the test process's pid, since the machine may run
// other tests' namespaces), brings its loopback up and deletes it when the
// test ends. It returns the name.
func NetnsAdd(t testing.TB, name string) string {
	t.Helper()
	Require(t, "ip")
	name += "-" + strconv.Itoa(unix.Getpid())
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// HolderIn starts a holder inside the named namespace (ip netns exec).
func HolderIn(t testing.TB, name string) *Holder {
	t.Helper()
	Require(t, "python3")
	return NewHolderCmd(t, "ip", "netns", "exec", name, "python3")
}

// ChildHolder starts a holder in a network namespace of its own, made by
// unshare(1) and named by nothing but the process: it goes away with the
// holder. Its loopback is up.
func ChildHolder(t testing.TB) *Holder {
	t.Helper()
	Require(t, "python3", "unshare", "ip")
	return NewHolderCmd(t, "unshare", "--net", "sh", "-c", `ip link set lo up && exec python3 "$@"`, "sh")
}

// NetnsIno is the inode of the network namespace file at path
// (/proc/PID/ns/net, /run/netns/NAME).
func NetnsIno(t testing.TB, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
