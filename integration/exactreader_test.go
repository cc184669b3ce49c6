package integration

// The exact reader against real programs: each runs in the test's
// namespace on a veth, its sockets are dumped through the mounted tree,
// the exact values are checked against what the program set, and each
// socket is cloned onto a fresh one with cp of image.bin and with tar of
// its option and membership files.

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// realProgram is one program and what its socket must show.
type realProgram struct {
	name  string
	argv  func(dir string) []string
	group string // a group the socket joins
	check func(t *testing.T, img *image.Image, ifi int)
}

func membership(img *image.Image, group string) (image.Membership, bool) {
	for _, m := range img.Memberships {
		if m.Group.String() == group {
			return m, true
		}
	}
	return image.Membership{}, false
}

var realPrograms = []realProgram{
	{"ptp4l", func(string) []string { return []string{"ptp4l", "-i", "rp0", "-S", "-4", "-q"} }, "224.0.1.129",
		func(t *testing.T, img *image.Image, ifi int) {
			// linuxptp picks its multicast interface by index only.
			if got := img.Values[70].Num; got != uint64(ifi) {
				t.Errorf("multicast_ifindex %d, ptp4l set %d", got, ifi)
			}
		}},
	{"avahi-daemon", func(dir string) []string {
		conf := filepath.Join(dir, "avahi.conf")
		os.WriteFile(conf, []byte("[server]\nallow-interfaces=rp0\nuse-ipv6=no\nenable-dbus=no\n[publish]\ndisable-publishing=yes\n"), 0o644)
		return []string{"avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", conf}
	}, "224.0.0.251",
		func(t *testing.T, img *image.Image, ifi int) {
			// avahi joins with the interface's address.
			m, _ := membership(img, "224.0.0.251")
			if m.Address.String() != "10.9.0.1" || m.Ifindex != int32(ifi) {
				t.Errorf("membership %+v; avahi joined with imr_address 10.9.0.1 on ifindex %d", m, ifi)
			}
		}},
	{"mcfirst", func(string) []string {
		return []string{"mcfirst", "-4", "-I", "rp0", "-c", "100000", "-t", "600", "10.9.0.7", "232.4.4.4", "5001"}
	}, "232.4.4.4",
		func(t *testing.T, img *image.Image, ifi int) {
			// a source-specific join: INCLUDE {10.9.0.7}.
			m, _ := membership(img, "232.4.4.4")
			if m.Mode != image.ModeInclude || len(m.Sources) != 1 || m.Sources[0].String() != "10.9.0.7" {
				t.Errorf("membership %+v; mcfirst joined (10.9.0.7, 232.4.4.4)", m)
			}
		}},
	{"iperf", func(string) []string { return []string{"iperf", "-s", "-u", "-B", "239.5.5.5%rp0", "-p", "5002"} }, "239.5.5.5",
		func(t *testing.T, img *image.Image, ifi int) {
			if m, _ := membership(img, "239.5.5.5"); m.Ifindex != int32(ifi) {
				t.Errorf("membership %+v; iperf joined on ifindex %d", m, ifi)
			}
		}},
	{"socat", func(string) []string {
		return []string{"socat", "-u", "UDP4-RECV:5003,ip-add-membership=239.6.6.6:rp0", "OPEN:/dev/null"}
	}, "239.6.6.6",
		func(t *testing.T, img *image.Image, ifi int) {
			if m, _ := membership(img, "239.6.6.6"); m.Ifindex != int32(ifi) {
				t.Errorf("membership %+v; socat joined on ifindex %d", m, ifi)
			}
		}},
}

// mountExact loads the exact reader and mounts a tree on it, both undone
// when the test ends.
func mountExact(t *testing.T) (*exact.Exact, string) {
	t.Helper()
	e, err := exact.Open(exact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() }) // after the unmount: cleanups run last first
	mnt := t.TempDir()
	netnstest.MountTree(t, mnt, inetcrfs.Options{Backend: e, Logger: quietLogger()})
	return e, mnt
}

func TestExactReaderRealPrograms(t *testing.T) {
	e, mnt := mountExact(t)
	ifi := netnstest.Veth(t, "rp0", "10.9.0.1/24")
	h := netnstest.NewHolder(t)
	for _, p := range realPrograms {
		t.Run(p.name, func(t *testing.T) {
			netnstest.Require(t, p.argv(t.TempDir())[0])
			cmd := exec.Command(p.argv(t.TempDir())[0], p.argv(t.TempDir())[1:]...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			ino := socketJoining(t, e, cmd.Process.Pid, p.group)
			orig, err := image.Decode([]byte(netnstest.ReadFile(t, filepath.Join(mnt, strconv.FormatUint(ino, 10), "image.bin"))))
			if err != nil {
				t.Fatal(err)
			}
			p.check(t, orig, ifi)

			// cp image.bin onto a fresh socket (bound, so it keeps its own address).
			cp := h.Socket("udp")
			cp.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
			netnstest.MustSh(t, "cp "+filepath.Join(mnt, strconv.FormatUint(ino, 10), "image.bin")+" "+filepath.Join(mnt, strconv.FormatUint(cp.Inode, 10), "image.bin"))
			sameButAddress(t, "cp image.bin", orig, netnstest.Dump(t, e, cp.Inode), false)

			// tar of the option and membership files onto another.
			tr := h.Socket("udp")
			tr.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
			tarball := filepath.Join(t.TempDir(), "s.tar")
			netnstest.MustSh(t, "tar -C "+filepath.Join(mnt, strconv.FormatUint(ino, 10))+" -cf "+tarball+" sockopt ipopt membership && tar -C "+filepath.Join(mnt, strconv.FormatUint(tr.Inode, 10))+" -xf "+tarball)
			sameButAddress(t, "tar", orig, netnstest.Dump(t, e, tr.Inode), true)
		})
	}
}

// socketJoining waits for pid to hold a socket that has joined group.
func socketJoining(t *testing.T, e *exact.Exact, pid int, group string) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, _ := e.List()
		for _, s := range list {
			hs, err := e.Holders(s.Inode)
			if err != nil || !slices.ContainsFunc(hs, func(h image.Holder) bool { return h.Pid == pid }) {
				continue
			}
			if img, err := e.Dump(s.Inode); err == nil {
				if _, ok := membership(img, group); ok {
					return s.Inode
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pid %d holds no socket that joined %s", pid, group)
	return 0
}

// sameButAddress compares a clone with the original: byte for byte but
// for the local address (the clone keeps its own). A tar carries the
// membership files, whose names and text have neither the join order nor
// the interface address, so for it memberships compare as a set without
// addresses.
func sameButAddress(t *testing.T, what string, want, got *image.Image, viaFiles bool) {
	t.Helper()
	w := want.Clone()
	w.Local = got.Local
	if viaFiles {
		w, got = setOfMemberships(w), setOfMemberships(got)
	}
	netnstest.SameImage(t, what, w, got)
}

func setOfMemberships(img *image.Image) *image.Image {
	c := img.Clone()
	for i := range c.Memberships {
		c.Memberships[i].Address = netip.IPv4Unspecified()
	}
	c.CanonicalOrder()
	return c
}
