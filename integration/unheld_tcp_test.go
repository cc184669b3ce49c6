package integration

// TCP sockets no task holds: a listener and a connected client, each with
// tcpopt values set, in flight in SCM_RIGHTS. The exact reader dumps them
// from their records (tcp_sock and inet_connection_sock), with no
// descriptor to ask getsockopt on.

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// inFlightTCP makes a listener and a client connected to it, sets TCP
// options on both, sends both to itself over a socketpair, closes its
// own copies and prints their inodes. On "recv" it takes them back and
// prints, for each, getsockopt of every row argv[1] lists ([name, level,
// opt, is a name]).
const inFlightTCP = `
import json, os, socket, sys
rows = json.loads(sys.argv[1])
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_TCP, socket.TCP_KEEPIDLE, 77)
l.setsockopt(socket.SOL_TCP, socket.TCP_MAXSEG, 1000)
l.setsockopt(socket.SOL_TCP, socket.TCP_DEFER_ACCEPT, 10)
l.setsockopt(socket.SOL_TCP, socket.TCP_CONGESTION, b"reno")
l.setsockopt(socket.SOL_TCP, socket.TCP_NOTSENT_LOWAT, 4321)
l.setsockopt(socket.SOL_TCP, socket.TCP_FASTOPEN, 5)
l.bind(("127.0.0.1", 0))
l.listen(5)
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.setsockopt(socket.SOL_TCP, socket.TCP_KEEPCNT, 5)
c.setsockopt(socket.SOL_TCP, socket.TCP_USER_TIMEOUT, 3000)
c.setsockopt(socket.SOL_TCP, socket.TCP_NODELAY, 1)
c.setsockopt(socket.SOL_TCP, socket.TCP_LINGER2, -1)
c.connect(l.getsockname())
inos = [os.fstat(s.fileno()).st_ino for s in (l, c)]
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
socket.send_fds(a, [b"x"], [l.fileno(), c.fileno()])
l.close()
c.close()
print(json.dumps(inos), flush=True)
sys.stdin.readline()
_, fds, _, _ = socket.recv_fds(b, 1, 2)
out = {}
for ino, fd in zip(inos, fds):
    s = socket.socket(fileno=fd)
    got = {}
    for name, level, opt, is_name in rows:
        if is_name:
            got[name] = s.getsockopt(level, opt, 16).rstrip(b"\0").decode()
        else:
            got[name] = s.getsockopt(level, opt)
    out[str(ino)] = got
print(json.dumps(out), flush=True)
sys.stdin.readline()
`

func TestUnheldTCPSocket(t *testing.T) {
	netnstest.Require(t, "python3", "bash")
	var rows [][4]any
	var tcpRows []*image.Option
	for _, o := range image.OptionsFor(unix.AF_INET, unix.SOCK_STREAM) {
		if o.Dir == "tcpopt" && !o.ExactOnly { // linger2_default: TestRestoreFollowsTheDefault
			rows = append(rows, [4]any{o.Name, o.Level, o.Opt, o.Kind == image.Name})
			tcpRows = append(tcpRows, o)
		}
	}
	arg, _ := json.Marshal(rows)
	p, line := startInFlight(t, inFlightTCP, string(arg))
	in, out := p.in, p.out
	var inos []uint64
	if err := json.Unmarshal([]byte(line), &inos); err != nil || len(inos) != 2 {
		t.Fatalf("inodes %q: %v", line, err)
	}

	e, err := exact.Open(exact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	imgs := map[uint64]*image.Image{}
	for i, ino := range inos {
		img, err := e.Dump(ino)
		if err != nil {
			t.Fatalf("dump of the unheld %s: %v", []string{"listener", "client"}[i], err)
		}
		imgs[ino] = img
	}
	if got := imgs[inos[0]].State; got != image.StateListen {
		t.Errorf("listener in state %d", got)
	}

	mnt := t.TempDir()
	netnstest.MountTree(t, mnt, inetcrfs.Options{Backend: e})
	dir := filepath.Join(mnt, strconv.FormatUint(inos[0], 10))
	netnstest.MustSh(t, "ls "+mnt+" >/dev/null") // the listing finds it
	for file, want := range map[string]string{"keepidle": "77", "maxseg": "1000", "defer_accept": "15", "congestion": "reno"} {
		if got := strings.TrimSpace(netnstest.ReadFile(t, filepath.Join(dir, "tcpopt", file))); got != want {
			t.Errorf("cat tcpopt/%s of the unheld listener: %q, want %s", file, got, want)
		}
	}
	if got, code := netnstest.Sh(t, "echo 5 > "+filepath.Join(dir, "tcpopt/keepidle")); code == 0 || !strings.Contains(got, "Read-only file system") {
		t.Errorf("echo 5 > tcpopt/keepidle: exit %d, %q; want Read-only file system", code, got)
	}

	// Independently: received, each socket's getsockopt gives what its
	// dump made in flight said, row by row.
	io.WriteString(in, "recv\n")
	if line, err = out.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	for _, ino := range inos {
		held := got[strconv.FormatUint(ino, 10)]
		for _, o := range tcpRows {
			want := strings.TrimSpace(o.Format(imgs[ino].Values[o.Attr]))
			var have string
			switch v := held[o.Name].(type) {
			case string:
				have = v
			case float64:
				have = strconv.FormatInt(int64(v), 10)
				if o.Kind != image.S32 { // the image holds a u32
					have = strconv.FormatUint(uint64(uint32(int64(v))), 10)
				}
			}
			if have != want {
				t.Errorf("socket %d tcpopt/%s: dumped in flight %q, getsockopt once received %q", ino, o.Name, want, have)
			}
		}
	}
}
