package integration

import (
	"path/filepath"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// TestWriteKeepsOwnersChanges: a write to one option file changes that
// option only. While the socket's owner flips its TTL between 10 and 20 in
// a tight loop, the shell writes ipopt/tos 1,000 times; the owner never
// reads back a TTL it did not set, as it would if a write put back a TTL
// from an older read of the socket (a lost update).
func TestWriteKeepsOwnersChanges(t *testing.T) {
	mnt := mount(t)
	s := netnstest.NewHolder(t).Socket("udp")
	tos := filepath.Join(sockDir(mnt, s), "ipopt", "tos")
	stop := s.Flip(unix.IPPROTO_IP, unix.IP_TTL, 10, 20)
	out, code := netnstest.Sh(t, "i=0; bad=0; while [ $i -lt 1000 ]; do echo $((i % 2 * 4 + 4)) > "+tos+" 2>/dev/null || bad=$((bad+1)); i=$((i+1)); done; echo $bad failed; [ $bad = 0 ]")
	iterations, foreign := stop()
	if code != 0 {
		t.Errorf("writing tos 1,000 times while the owner changes its TTL: %s", out)
	}
	if iterations == 0 {
		t.Fatal("the holder never set its TTL: the test proves nothing")
	}
	if foreign != 0 {
		t.Errorf("the holder read back a TTL it had not set %d times in %d sets: the tree's writes of tos put an old TTL back", foreign, iterations)
	}
	if got := s.GetInt(unix.IPPROTO_IP, unix.IP_TOS); got != 8 {
		t.Errorf("tos in the holder is %d after the last write of 8", got)
	}
}
