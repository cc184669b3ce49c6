package exact_test

import (
	"encoding/hex"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// deviceGroups lists the groups matching pattern (a regular expression)
// that the device dev has joined, in
// the order /proc/net/igmp6 shows them: the device's own list, newest
// first (the kernel adds a group at its head when the first socket joins
// it). On a fresh interface where one socket alone joins some groups,
// it is that socket's join order reversed, seen without the exact
// reader.
func deviceGroups(t *testing.T, dev, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile("^" + pattern)
	b, err := os.ReadFile("/proc/net/igmp6")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != dev || len(f[2]) != 32 {
			continue
		}
		a, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatalf("/proc/net/igmp6: %q: %v", line, err)
		}
		if g := netip.AddrFrom16([16]byte(a)).String(); re.MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// groups6 lists an image's IPv6 groups in the image's order.
func groups6(img *image.Image) string {
	var out []string
	for _, m := range img.Memberships {
		if m.Group.Is6() {
			out = append(out, m.Group.String())
		}
	}
	return strings.Join(out, " ")
}

// roundTripJoinOrder6: three IPv6 groups joined C, A, B, the socket's
// image restored onto a fresh socket once the first is closed, so that
// the clone's joins are the interface's first ones: the device's list
// shows the order the restore joined in (newest first), and the clone's
// exact image is the original's, byte for byte.
func roundTripJoinOrder6(t *testing.T, e *exact.Exact, h *netnstest.Holder) {
	ifi := netnstest.Veth6(t, "order6", "fd0b::1/64")
	src := h.Socket6("udp")
	for _, g := range []string{"ff15::c", "ff15::a", "ff15::b"} {
		src.Must("join6", map[string]any{"group": g, "ifindex": ifi})
	}
	src.Must("join6_source", map[string]any{"group": "ff35::9", "ifindex": ifi, "source": "fd0b::7"})
	want := netnstest.Dump(t, e, src.Inode)
	if got := groups6(want); got != "ff15::c ff15::a ff15::b ff35::9" || !want.JoinOrder6 {
		t.Fatalf("the original's IPv6 memberships %s, JoinOrder6 %v: want the join order, flagged", got, want.JoinOrder6)
	}
	src.Close()
	if got := deviceGroups(t, "order6", "ff[13]5::"); len(got) != 0 {
		t.Fatalf("order6 still has %v after its only member closed", got)
	}
	dst := h.Socket6("udp")
	if err := e.Restore(dst.Inode, want); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deviceGroups(t, "order6", "ff[13]5::"), " "); got != "ff35::9 ff15::b ff15::a ff15::c" {
		t.Errorf("/proc/net/igmp6 lists %s on order6, want ff35::9 ff15::b ff15::a ff15::c: the restore did not join in the image's order", got)
	}
	got := netnstest.Dump(t, e, dst.Inode)
	netnstest.SameImage(t, "clone", want, got)
	if string(want.Encode()) != string(got.Encode()) {
		t.Fatal("encodings differ")
	}
	// Restoring the same groups in canonical order changes nothing: no
	// leave and join again, a gap in the feed, just to fix the order.
	canonical := want.Clone()
	canonical.JoinOrder6 = false
	canonical.Canonicalize()
	if err := e.Restore(dst.Inode, canonical); err != nil {
		t.Fatal(err)
	}
	if after := netnstest.Dump(t, e, dst.Inode); string(after.Encode()) != string(got.Encode()) {
		t.Errorf("a restore of the same groups in canonical order changed the socket's list to %s", groups6(after))
	}
}
