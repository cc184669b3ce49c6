package integration

// Rootless containers (docs/security.md, "Other network namespaces"): a
// user's own network namespace, made with `unshare -Urn`, is the user's.

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// containerHolder starts a holder that uid runs in a user and network
// namespace of its own (a rootless container): inside, it is root.
func containerHolder(t *testing.T, uid int) *netnstest.Holder {
	t.Helper()
	netnstest.Require(t, "unshare")
	return netnstest.NewHolderCmd(t, append(setpriv(uid), "unshare", "-Urn", userPython(t))...)
}

func TestRootlessContainer(t *testing.T) {
	mnt, _ := publicMountNetns(t, nil, 0)
	a := containerHolder(t, userA)
	inA := a.Socket("udp")
	inA.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5500})
	hostA := bound(holderAs(t, userA).Socket("udp"))
	inB := containerHolder(t, userB).Socket("udp")
	inB.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 5500})
	dirA, dirB, dirHostA := sockDir(mnt, inA), sockDir(mnt, inB), sockDir(mnt, hostA)

	// Listed to everyone, owned by the user who made the namespace.
	for _, uid := range []int{userA, userB} {
		ls := mustAsUser(t, uid, "ls "+mnt)
		for _, s := range []*netnstest.Sock{inA, inB} {
			if !strings.Contains(ls, strconv.FormatUint(s.Inode, 10)) {
				t.Errorf("uid %d does not see socket %d listed", uid, s.Inode)
			}
		}
	}
	// An unbound socket is in no sock_diag table: ss shows it to nobody,
	// so the listing shows it only to whoever may see its holder's fds.
	unboundA := holderAs(t, userA).Socket("udp")
	time.Sleep(400 * time.Millisecond) // past the last listing's freshness (architecture.md)
	name := strconv.FormatUint(unboundA.Inode, 10)
	if ls := strings.Fields(mustAsUser(t, userA, "ls "+mnt)); !slices.Contains(ls, name) {
		t.Errorf("A does not see its unbound socket %s listed", name)
	}
	if ls := strings.Fields(mustAsUser(t, userB, "ls "+mnt)); slices.Contains(ls, name) {
		t.Errorf("B sees A's unbound socket %s listed", name)
	}
	if out := mustAsUser(t, userA, "stat -c %u "+dirA); strings.TrimSpace(out) != strconv.Itoa(userA) {
		t.Errorf("A's container socket is owned by %s", out)
	}

	// A reads and changes its container's socket; the kernel grants A,
	// as the owner of the user namespace that owns the socket's network
	// namespace, CAP_NET_ADMIN there: SO_MARK is set.
	mustAsUser(t, userA, "cat "+dirA+"/info && echo 33 > "+dirA+"/ipopt/ttl && echo 7 > "+dirA+"/sockopt/mark")
	if got := inA.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 33 {
		t.Errorf("ttl in A's container %d, want 33", got)
	}
	if got := inA.GetInt(unix.SOL_SOCKET, unix.SO_MARK); got != 7 {
		t.Errorf("mark in A's container %d, want 7", got)
	}
	// The same capability lends nothing outside: A's socket of the
	// host's namespace keeps its mark.
	if out, code := asUser(t, userA, "echo 7 > "+dirHostA+"/sockopt/mark"); code == 0 || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("A set a mark on a socket of the host's namespace: exit %d: %s", code, out)
	}
	if got := hostA.GetInt(unix.SOL_SOCKET, unix.SO_MARK); got != 0 {
		t.Errorf("mark of A's host socket %d, want 0", got)
	}
	// Nor does A's root inside its own user namespace.
	script := "echo 8 > " + dirHostA + "/sockopt/mark"
	if out, code := netnstest.RunArgv(t, append(setpriv(userA), "unshare", "-Ur", "bash", "-c", script)); code == 0 {
		t.Errorf("root of A's user namespace set a mark on a host socket: %s", out)
	}
	if got := hostA.GetInt(unix.SOL_SOCKET, unix.SO_MARK); got != 0 {
		t.Errorf("mark of A's host socket %d after its user namespace's root wrote, want 0", got)
	}
	// B may neither read nor change A's container socket, nor A B's.
	for _, c := range []struct {
		uid int
		dir string
	}{{userB, dirA}, {userA, dirB}} {
		if out, code := asUser(t, c.uid, "cat "+c.dir+"/ipopt/ttl"); code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("uid %d read %s: exit %d: %s", c.uid, c.dir, code, out)
		}
		if out, code := asUser(t, c.uid, "echo 5 > "+c.dir+"/ipopt/ttl"); code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("uid %d wrote %s: exit %d: %s", c.uid, c.dir, code, out)
		}
	}
	if got := inB.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got == 5 {
		t.Error("A changed B's container socket")
	}
}
