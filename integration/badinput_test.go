package integration

// Bad input through the tree, written by the socket's unprivileged owner
// with the real tools: every one fails with a clear errno, changes nothing
// and, when it reaches a change, is logged with its reason.

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

func TestBadInputs(t *testing.T) {
	netnstest.Veth(t, "bi0", "10.44.0.1/24")
	mnt, logs := publicMount(t, nil)
	ha := holderAs(t, userA)
	s := bound(ha.Socket("udp"))
	d := sockDir(mnt, s)
	tmp := userDir(t, userA)

	// Images: a file of the owner's, copied onto image.bin.
	good, err := image.Decode([]byte(netnstest.ReadFile(t, filepath.Join(d, "image.bin"))))
	if err != nil {
		t.Fatal(err)
	}
	images := map[string][]byte{
		"junk":      []byte("\x08\x00\x01\x00\x02\x00\x00\x00 not an image"),
		"truncated": good.Encode()[:40],
		"version 2": append([]byte{8, 0, 1, 0, 2, 0, 0, 0}, good.Encode()[8:]...),
		"trailing":  append(good.Encode(), 0, 0),
	}
	// More memberships than the namespace's igmp_max_memberships (20 by
	// default): a valid image, which the kernel refuses at the 21st join.
	many := good.Clone()
	for i := range defaultMaxMemberships + 1 {
		many.Memberships = append(many.Memberships, image.Membership{Group: netip.AddrFrom4([4]byte{239, 44, 0, byte(i + 1)}), Address: netip.IPv4Unspecified(), Ifindex: int32(ifindexOf(t, "bi0"))})
	}
	manyFile := filepath.Join(tmp, "many_memberships")
	if err := os.WriteFile(manyFile, many.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	tcp := good.Clone()
	tcp.Type, tcp.Protocol = unix.SOCK_STREAM, unix.IPPROTO_TCP
	images["a TCP image"] = tcp.Encode()

	type bad struct{ kind, script, want string }
	var cases []bad
	for name, b := range images {
		src := filepath.Join(tmp, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(src, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, bad{"image: " + name, "cp " + src + " " + d + "/image.bin", "Invalid argument"})
	}
	// An image's start followed by too much: the first bytes pass the
	// check a write makes (they start an image), the size does not.
	start := filepath.Join(tmp, "good")
	if err := os.WriteFile(start, good.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, bad{"image: 70000 bytes", "{ cat " + start + "; head -c 70000 /dev/zero; } > " + d + "/image.bin", "File too large"})
	for _, name := range []string{"10.1.2.3@bi0", "239.1.2.3", "bad@bi0", "239.1.2.300@bi0", "@bi0", "239.1.2.3@", "ff02::1@bi0", "0x239.1.2.3@bi0"} {
		cases = append(cases, bad{"membership name " + name, "touch '" + d + "/membership/" + name + "'", "Invalid argument"})
	}
	cases = append(cases, bad{"membership on no interface", "touch " + d + "/membership/239.1.2.3@nope0", "No such device"})
	for file, values := range map[string][]string{
		"ipopt/ttl":            {"0", "256", "-1", "text", "1 2", "\\n", "0x100"},
		"ipopt/tos":            {"256", "x"},
		"sockopt/priority":     {"4294967296", "-1"},
		"sockopt/linger":       {"1", "1 2 3", "x y"},
		"ipopt/multicast_if":   {"300.1.1.1", "::1", "host"},
		"sockopt/rcvtimeo":     {"-5", "1.5"},
		"ipopt/options":        {"zz", "010203"},
		"sockopt/bindtodevice": {"a-name-far-too-long-for-ifnamsiz"},
		"ipopt/recvttl":        {"2", "yes"},
		"sockopt/sndbuf":       {"1", "99999999999999999999"},
		"ipopt/multicast_ttl":  {"300"},
		"ipopt/unicast_if":     {"-1"},
	} {
		for _, v := range values {
			cases = append(cases, bad{"value " + file + "=" + v, fmt.Sprintf("printf '%%b' '%s' > %s/%s", v, d, file), "Invalid argument"})
		}
	}

	before := netnstest.ReadFile(t, filepath.Join(d, "image.bin"))
	for _, c := range cases {
		out, code := asUser(t, userA, c.script)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: %s: exit %d: %s (want %s)", c.kind, c.script, code, out, c.want)
		}
		if after := netnstest.ReadFile(t, filepath.Join(d, "image.bin")); after != before {
			t.Fatalf("%s changed the socket", c.kind)
		}
	}
	if out, code := asUser(t, userA, "cp "+manyFile+" "+d+"/image.bin"); code == 0 || !strings.Contains(out, "No buffer space available") {
		t.Errorf("image of %d memberships: exit %d: %s (want ENOBUFS from the kernel)", defaultMaxMemberships+1, code, out)
	}
	if after := netnstest.ReadFile(t, filepath.Join(d, "image.bin")); after != before {
		t.Fatalf("the image of %d memberships changed the socket", defaultMaxMemberships+1)
	}
	refused := logs.Lines("msg=refused", fmt.Sprintf("uid=%d", userA))
	t.Logf("%d bad inputs refused, %d log records of refusals", len(cases), len(refused))
	if len(refused) < len(cases)-1 { // the EFBIG write is one record for several writes
		t.Errorf("only %d refusals logged for %d bad inputs", len(refused), len(cases))
	}

	// Past igmp_max_memberships, one touch at a time: the kernel says
	// ENOBUFS, and the touch fails with it.
	var touched int
	for i := 1; ; i++ {
		out, code := asUser(t, userA, fmt.Sprintf("touch %s/membership/239.45.0.%d@bi0", d, i))
		if code != 0 {
			if !strings.Contains(out, "No buffer space available") {
				t.Errorf("join %d: %s", i, out)
			}
			break
		}
		touched++
	}
	if touched != defaultMaxMemberships {
		t.Errorf("%d joins went through, want %d (net.ipv4.igmp_max_memberships)", touched, defaultMaxMemberships)
	}
}

// defaultMaxMemberships is the kernel's default net.ipv4.igmp_max_memberships,
// which a fresh network namespace has.
const defaultMaxMemberships = 20
