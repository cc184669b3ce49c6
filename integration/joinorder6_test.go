package integration

// The IPv6 join order through the mounted tree (issue 11): socat joins
// three IPv6 groups C, A, B; its image.bin lists them so, flagged with
// IP6OPT_MEMBERSHIP_ORDER; copied with cp onto a fresh socket once socat
// is gone, it is joined in that order again, and the clone's image.bin is
// socat's, byte for byte. ip -6 maddr shows the interface's own list,
// newest first: on an interface where one socket alone joins the groups,
// that socket's join order reversed, seen without the exact reader.

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
)

func TestJoinOrder6ThroughTree(t *testing.T) {
	netnstest.Require(t, "socat", "ip", "cp")
	e, mnt := mountExact(t)
	netnstest.Veth6(t, "jo6", "fd0c::1/64")
	maddr := func() string {
		t.Helper()
		var groups []string
		for _, g := range regexp.MustCompile(`inet6 (ff15::[abc])\n`).FindAllStringSubmatch(netnstest.Run(t, "ip", "-6", "maddr", "show", "dev", "jo6"), -1) {
			groups = append(groups, g[1])
		}
		return strings.Join(groups, " ")
	}

	cmd := exec.Command("socat", "-u", "UDP6-RECV:5006,ipv6-join-group=[ff15::c]:jo6,ipv6-join-group=[ff15::a]:jo6,ipv6-join-group=[ff15::b]:jo6", "OPEN:/dev/null")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ino := socketJoining(t, e, cmd.Process.Pid, "ff15::b")
	if got := maddr(); got != "ff15::b ff15::a ff15::c" {
		t.Fatalf("ip -6 maddr shows %q on jo6, want ff15::b ff15::a ff15::c: socat did not join C, A, B", got)
	}
	saved := filepath.Join(t.TempDir(), "socat.bin")
	netnstest.MustSh(t, "cp "+filepath.Join(mnt, strconv.FormatUint(ino, 10), "image.bin")+" "+saved)
	orig, err := image.Decode([]byte(netnstest.ReadFile(t, saved)))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range orig.Memberships {
		order = append(order, m.Group.String())
	}
	if got := strings.Join(order, " "); got != "ff15::c ff15::a ff15::b" || !orig.JoinOrder6 {
		t.Fatalf("socat's image.bin lists %s, JoinOrder6 %v; want the join order ff15::c ff15::a ff15::b, flagged", got, orig.JoinOrder6)
	}

	cmd.Process.Kill()
	cmd.Wait()
	if got := maddr(); got != "" {
		t.Fatalf("ip -6 maddr shows %q on jo6 after socat exited", got)
	}
	clone := netnstest.NewHolder(t).Socket6("udp")
	netnstest.MustSh(t, "cp "+saved+" "+filepath.Join(mnt, strconv.FormatUint(clone.Inode, 10), "image.bin"))
	if got := maddr(); got != "ff15::b ff15::a ff15::c" {
		t.Errorf("after cp image.bin, ip -6 maddr shows %q on jo6, want ff15::b ff15::a ff15::c: the restore did not join C, A, B", got)
	}
	got := netnstest.ReadFile(t, filepath.Join(mnt, strconv.FormatUint(clone.Inode, 10), "image.bin"))
	if !bytes.Equal([]byte(got), []byte(netnstest.ReadFile(t, saved))) {
		back, err := image.Decode([]byte(got))
		if err != nil {
			t.Fatal(err)
		}
		netnstest.SameImage(t, "the clone's image.bin", orig, back)
		t.Fatal("the clone's image.bin differs from socat's")
	}
}
