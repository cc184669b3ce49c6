package netnstest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { netnstest.Main(m) }

func TestPrivateNamespace(t *testing.T) {
	links := netnstest.Run(t, "ip", "-o", "link")
	if n := strings.Count(links, "\n"); n != 1 {
		t.Fatalf("want only lo in a fresh namespace, got %d links:\n%s", n, links)
	}
	if os.Getenv("INETCR_NETNS") == "" {
		t.Fatal("not re-executed in a namespace")
	}
}

func TestHolderSetsAndGets(t *testing.T) {
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	if s.Inode == 0 {
		t.Fatal("no inode")
	}
	s.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 33)
	if got := s.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 33 {
		t.Fatalf("ttl %d, want 33", got)
	}
	ifi := netnstest.Veth(t, "dm0", "10.9.0.1/24")
	s.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": ifi})
	if out := netnstest.Run(t, "ip", "maddr", "show", "dev", "dm0"); !strings.Contains(out, "239.1.2.3") {
		t.Fatalf("ip maddr does not show the group:\n%s", out)
	}
}
