package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// TestRefusedAtWrite: what a write can be judged on is refused by that
// write(2), so that a shell's redirection, which ignores close's result,
// fails; nothing changes, and the rest of the input is refused too.
func TestRefusedAtWrite(t *testing.T) {
	ifi := netnstest.Veth(t, "wc0", "10.13.0.1/24")
	mnt := t.TempDir()
	logs := &netnstest.LogBuffer{}
	netnstest.MountTree(t, mnt, inetcrfs.Options{Backend: stock.NewStock(), Logger: logs.Logger(), Netns: netnstest.NetnsIno(t, "/proc/self/ns/net")})
	h := netnstest.NewHolder(t)
	a, b := h.Socket("udp"), h.Socket("udp")
	a.Must("join", map[string]any{"group": "239.13.0.1", "ifindex": ifi})
	a.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 99) // before the tree reads a
	m := filepath.Join(sockDir(mnt, a), "membership", "239.13.0.1@wc0")
	before := netnstest.ReadFile(t, m)
	for _, text := range []string{
		`mode include\nsources\n`,
		`colour red\n`,
		`sources 10.13.0.300\n`,
		`sources 239.1.1.1\n`,
		`group 239.9.9.9\nmode exclude\n`,
		`interface lo\n`,
		fmt.Sprintf(`ifindex %d\n`, ifi+1),
	} {
		out, code := netnstest.Sh(t, fmt.Sprintf("printf '%s' > %s", text, m))
		if code == 0 || !strings.Contains(out, "Invalid argument") {
			t.Errorf("printf %q > membership file: exit %d: %s", text, code, out)
		}
		if got := netnstest.ReadFile(t, m); got != before {
			t.Errorf("printf %q changed the membership: %q", text, got)
		}
	}
	// A valid text still sets the filter, and >> appends to what the
	// open wrote, not to the file's current content.
	netnstest.MustSh(t, fmt.Sprintf("printf 'mode include\\nsources 10.13.0.9\\n' > %s", m))
	if got := netnstest.ReadFile(t, m); !strings.Contains(got, "mode include\nsources 10.13.0.9\n") {
		t.Errorf("filter not set: %q", got)
	}
	netnstest.MustSh(t, fmt.Sprintf("printf 'mode exclude\\nsources\\n' >> %s", m))
	if got := netnstest.ReadFile(t, m); got != before {
		t.Errorf(">> of a filter: %q, want %q", got, before)
	}

	// image.bin: bytes that do not start with the VERSION attribute.
	ai, bi := filepath.Join(sockDir(mnt, a), "image.bin"), filepath.Join(sockDir(mnt, b), "image.bin")
	bImage := netnstest.ReadFile(t, bi)
	logs.Reset()
	out, code := netnstest.Sh(t, "printf 'hello, world\\n' > "+bi)
	if code == 0 || !strings.Contains(out, "Invalid argument") {
		t.Errorf("printf text > image.bin: exit %d: %s", code, out)
	}
	if l := logs.Lines("msg=refused", "file=image.bin", "not an inetcr image ("); len(l) != 1 {
		t.Errorf("log of the refusal: %q", logs.Lines())
	}
	// The rest of that open is refused too: a valid image after junk on
	// the same descriptor restores nothing.
	img := filepath.Join(t.TempDir(), "a.bin")
	if err := os.WriteFile(img, []byte(netnstest.ReadFile(t, ai)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := netnstest.Sh(t, fmt.Sprintf("{ printf 'junk'; cat %s; } > %s", img, bi)); code == 0 {
		t.Errorf("junk then an image: exit 0: %s", out)
	}
	if got := netnstest.ReadFile(t, bi); got != bImage {
		t.Error("junk then an image changed the socket")
	}
	// cat img >> image.bin restores img.
	if out, code := netnstest.Sh(t, fmt.Sprintf("cat %s >> %s", img, bi)); code != 0 {
		t.Errorf("cat img >> image.bin: exit %d: %s", code, out)
	}
	if got := b.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 99 {
		t.Errorf("ttl after cat >> image.bin: %d, want 99", got)
	}
}
