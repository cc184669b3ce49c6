package integration

// Probing names (docs/security.md, "Sockets that are not listed"): a
// number that the listing does not show is a name only for a caller who
// could find the socket through /proc itself.

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
)

// statScript is a python3 program that stats each path named on stdin,
// one per line, and answers with its owner's uid or the errno's name.
const statScript = `
import errno, os, sys
for line in sys.stdin:
    try:
        print(os.stat(line.strip()).st_uid)
    except OSError as e:
        print(errno.errorcode[e.errno])
    sys.stdout.flush()
`

// statter is a process of one user that stats paths as it is told, so
// that two users' stats can follow each other within microseconds.
type statter struct{ h *holding }

func newStatter(t *testing.T, uid int) *statter {
	t.Helper()
	return &statter{startHolding(t, append(setpriv(uid), userPython(t), "-c", statScript))}
}

func (s *statter) stat(t *testing.T, path string) string {
	t.Helper()
	if _, err := fmt.Fprintln(s.h.in, path); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(s.h.line(t))
}

func TestUnlistedSocketsStayPrivate(t *testing.T) {
	mnt, _ := publicMount(t, nil)
	ha := holderAs(t, userA)
	unbound := ha.Socket("udp")
	listed := bound(ha.Socket("udp"))
	root := netnstest.NewHolder(t).Socket("udp")
	a, b := newStatter(t, userA), newStatter(t, userB)
	dir := sockDir(mnt, unbound)
	none := filepath.Join(mnt, "999999999")
	uidA := strconv.Itoa(userA)

	// B learns nothing of A's unbound socket, nor of root's: the answer
	// is a random number's.
	if got := b.stat(t, none); got != "ENOENT" {
		t.Fatalf("B's stat of a number that is no socket: %s", got)
	}
	for _, d := range []string{dir, dir + "/ipopt/ttl", sockDir(mnt, root)} {
		if got := b.stat(t, d); got != "ENOENT" {
			t.Errorf("B's stat of %s (not listed, not B's): %s, want ENOENT", d, got)
		}
	}
	// Its owner finds it, and so does root; B still does not, even right
	// after A's stat put the entry in the kernel's cache.
	for range 20 {
		if got := a.stat(t, dir); got != uidA {
			t.Fatalf("A's stat of its unbound socket: %s", got)
		}
		if got := b.stat(t, dir); got != "ENOENT" {
			t.Fatalf("B's stat right after A's: %s, want ENOENT", got)
		}
	}
	if got := a.stat(t, dir+"/ipopt/ttl"); got != uidA {
		t.Errorf("A's stat of its unbound socket's ttl: %s", got)
	}
	if got := b.stat(t, dir+"/ipopt/ttl"); got != "ENOENT" {
		t.Errorf("B's stat of ipopt/ttl right after A's: %s, want ENOENT", got)
	}
	if out := netnstest.MustSh(t, "stat -c %u "+dir+" && cat "+dir+"/ipopt/ttl"); out != uidA+"\n64\n" {
		t.Errorf("root's stat and cat of A's unbound socket: %q", out)
	}
	if got := b.stat(t, dir); got != "ENOENT" {
		t.Errorf("B's stat right after root's: %s, want ENOENT", got)
	}
	// A's bound socket is in the listing, which ss shows to everyone:
	// B sees that it exists and whose it is.
	if got := b.stat(t, sockDir(mnt, listed)); got != uidA {
		t.Errorf("B's stat of A's bound socket: %s, want %s", got, uidA)
	}
	unbound2 := ha.Socket("udp")
	if got := b.stat(t, sockDir(mnt, unbound2)); got != "ENOENT" {
		t.Errorf("B's stat of A's second unbound socket: %s", got)
	}
	// A socket bound after B looked for it is found once a listing shows
	// it: within the listing's age (nodes.Config.CacheTTL).
	bound(unbound2)
	deadline := time.Now().Add(time.Second)
	for got := b.stat(t, sockDir(mnt, unbound2)); got != uidA; got = b.stat(t, sockDir(mnt, unbound2)) {
		if time.Now().After(deadline) {
			t.Errorf("B's stat of A's socket a second after it was bound: %s, want %s", got, uidA)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}
