package integration

// Bounded write buffers (docs/security.md, "Write buffers"): the bytes that
// image.bin and membership files hold until close are charged to the
// opener's uid and to the server, so that many open files cannot make the
// root server allocate without bound.

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/nodes"
)

// handlesScript is a python3 program that opens image.bin n times for
// writing, writes one byte at offset 65535 to each (so that each buffer
// is 64 KiB) and prints the errno name of each write ("ok" for none).
// With close set it closes every descriptor before it exits; it prints
// the result of each close too, which is where an image is restored.
const handlesScript = `
import errno, os, sys
path, n = sys.argv[1], int(sys.argv[2])
fds, res = [], []
for i in range(n):
    fd = os.open(path, os.O_WRONLY)
    fds.append(fd)
    try:
        os.pwrite(fd, b"\0", 65535)
        res.append("ok")
    except OSError as e:
        res.append(errno.errorcode[e.errno])
print(" ".join(res))
sys.stdout.flush()
if len(sys.argv) > 3:
    # Hold the descriptors until told to close them (a line on stdin).
    sys.stdin.readline()
for fd in fds:
    try:
        os.close(fd)
    except OSError:
        pass
`

// writeHandles runs handlesScript as uid on path and returns what each
// write answered.
func writeHandles(t *testing.T, uid int, path string, n int) []string {
	t.Helper()
	out, code := netnstest.RunArgv(t, append(setpriv(uid), userPython(t), "-c", handlesScript, path, fmt.Sprint(n)))
	if code != 0 {
		t.Fatalf("as uid %d: %d handles of %s: exit %d: %s", uid, n, path, code, out)
	}
	return strings.Fields(out)
}

func TestWriteBudget(t *testing.T) {
	mnt, logs := publicMount(t, nil)
	a := holderAs(t, userA).Socket("udp")
	b := holderAs(t, userB).Socket("udp")
	imgA := filepath.Join(sockDir(mnt, a), "image.bin")
	imgB := filepath.Join(sockDir(mnt, b), "image.bin")
	per := int(nodes.DefaultWriteBudgetPerUID / (64 << 10))

	// A holds per+4 open files with a 64 KiB buffer each: the first per
	// fit A's budget, the rest fail with EDQUOT. While A holds them
	// (the first process waits on its stdin), B writes as much.
	hold := startHolding(t, append(setpriv(userA), userPython(t), "-c", handlesScript, imgA, fmt.Sprint(per+4), "hold"))
	got := strings.Fields(hold.line(t))
	if len(got) != per+4 {
		t.Fatalf("A's writes: %q", got)
	}
	for i, r := range got {
		want := "ok"
		if i >= per {
			want = "EDQUOT"
		}
		if r != want {
			t.Errorf("A's write %d of %d: %s, want %s", i+1, per+4, r, want)
		}
	}
	if n := len(logs.Lines("msg=refused", fmt.Sprintf("uid=%d", userA), "errno=EDQUOT")); n != 4 {
		t.Errorf("%d refused records of A's writes past its budget, want 4:\n%s", n, strings.Join(logs.Lines("errno="), "\n"))
	}
	// B has a budget of its own.
	for i, r := range writeHandles(t, userB, imgB, per) {
		if r != "ok" {
			t.Errorf("B's write %d while A is at its budget: %s", i+1, r)
		}
	}
	// While A holds its files, another process of A's is over the budget too.
	if r := writeHandles(t, userA, imgA, 1); r[0] != "EDQUOT" {
		t.Errorf("A's write from another process while A holds %d buffers: %s", per, r[0])
	}
	hold.close(t)
	// A's closes gave the budget back.
	for i, r := range writeHandles(t, userA, imgA, per) {
		if r != "ok" {
			t.Errorf("A's write %d after closing its files: %s", i+1, r)
		}
	}
}

// holding is a process that prints a line and then waits for one on its
// stdin before it exits.
type holding struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startHolding(t *testing.T, argv []string) *holding {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holding{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return h
}

func (h *holding) line(t *testing.T) string {
	t.Helper()
	l, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", h.cmd.Args, err)
	}
	return l
}

// close tells the process to go on and waits for it to exit.
func (h *holding) close(t *testing.T) {
	t.Helper()
	io.WriteString(h.in, "\n")
	h.in.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("%s: %v", h.cmd.Args, err)
	}
}
