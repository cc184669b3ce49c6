package integration

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// Through the tree: a value the kernel clamps fails the write and changes
// nothing; TCP's rcvlowat leaves rcvbuf; a timeout past u64 microseconds
// reads, copies onto another socket with cp, and leaves the socket open to
// changes.
func TestExactValuesThroughTree(t *testing.T) {
	mnt := mount(t)
	h := netnstest.NewHolder(t)
	u := h.Socket("udp")
	d := sockDir(mnt, u)
	before := netnstest.ReadFile(t, filepath.Join(d, "image.bin"))
	for file, v := range map[string]string{"sockopt/rcvtimeo": "1", "sockopt/sndbuf": "2", "sockopt/rcvbuf": "100"} {
		out, code := netnstest.Sh(t, "echo "+v+" > "+d+"/"+file)
		if code == 0 || !strings.Contains(out, "Invalid argument") {
			t.Errorf("echo %s > %s: exit %d: %s (want EINVAL)", v, file, code, out)
		}
		if netnstest.ReadFile(t, filepath.Join(d, "image.bin")) != before {
			t.Fatalf("the refused write of %s to %s changed the socket", v, file)
		}
	}

	tc := h.Socket("tcp")
	td := sockDir(mnt, tc)
	rcvbuf := netnstest.ReadFile(t, filepath.Join(td, "sockopt/rcvbuf"))
	netnstest.MustSh(t, "echo 100000 > "+td+"/sockopt/rcvlowat")
	if got := netnstest.ReadFile(t, filepath.Join(td, "sockopt/rcvlowat")); got != "100000\n" {
		t.Errorf("rcvlowat reads %q", got)
	}
	if got := netnstest.ReadFile(t, filepath.Join(td, "sockopt/rcvbuf")); got != rcvbuf {
		t.Errorf("rcvbuf went from %q to %q on a write of rcvlowat", rcvbuf, got)
	}

	ne := binary.NativeEndian
	u.SetBytes(unix.SOL_SOCKET, unix.SO_RCVTIMEO, ne.AppendUint64(ne.AppendUint64(nil, 4611686018427388), 0))
	time.Sleep(800 * time.Millisecond) // past the tree's dump cache and the kernel's size (700 ms, tree.md)
	if got := netnstest.ReadFile(t, filepath.Join(d, "sockopt/rcvtimeo")); got != "4611686018427388000000\n" {
		t.Errorf("rcvtimeo reads %q", got)
	}
	clone := h.Socket("udp")
	netnstest.MustSh(t, "cp "+d+"/image.bin "+sockDir(mnt, clone)+"/image.bin")
	if b := clone.GetBytes(unix.SOL_SOCKET, unix.SO_RCVTIMEO, 16); ne.Uint64(b) != 4611686018427388 || ne.Uint64(b[8:]) != 0 {
		t.Errorf("the clone's SO_RCVTIMEO is %d s %d µs", ne.Uint64(b), ne.Uint64(b[8:]))
	}
	netnstest.MustSh(t, "echo 5 > "+d+"/ipopt/ttl")
	if got := u.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 5 {
		t.Errorf("ttl is %d after echo 5", got)
	}
}
