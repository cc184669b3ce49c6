package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// The tests build inetcr with go build and run it as a user does, inside
// the private network namespace netnstest.Main gives the package, against
// sockets that a python3 holder process makes.

func TestMain(m *testing.M) { netnstest.Main(m) }

// buildInetcr builds the command into a temporary directory.
func buildInetcr(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "inetcr")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	stdout, stderr []byte
	code           int
}

// errLine is stderr as the one line a refused command prints.
func (r result) errLine(t *testing.T) string {
	t.Helper()
	s := string(r.stderr)
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("stderr is not one line: %q", s)
	}
	return strings.TrimSuffix(s, "\n")
}

// run runs the binary with stdin and returns what it printed.
func run(t *testing.T, bin string, stdin []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.Bytes(), errb.Bytes(), 0}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("inetcr %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs the binary and fails the test unless it exits 0 with nothing on
// stderr.
func ok(t *testing.T, bin string, stdin []byte, args ...string) []byte {
	t.Helper()
	r := run(t, bin, stdin, args...)
	if r.code != 0 || len(r.stderr) > 0 {
		t.Fatalf("inetcr %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// refused runs the binary and fails the test unless it exits 1 with one
// line on stderr that starts with prefix; it returns that line.
func refused(t *testing.T, bin string, stdin []byte, prefix string, args ...string) string {
	t.Helper()
	r := run(t, bin, stdin, args...)
	if r.code != 1 {
		t.Fatalf("inetcr %s: exit %d, want 1 (stderr %q)", strings.Join(args, " "), r.code, r.stderr)
	}
	line := r.errLine(t)
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("inetcr %s: stderr %q, want it to start with %q", strings.Join(args, " "), line, prefix)
	}
	return line
}

type lsJSON struct {
	Inode    uint64 `json:"inode"`
	Type     string `json:"type"`
	Protocol any    `json:"protocol"`
	State    string `json:"state"`
	Local    string `json:"local"`
	Peer     string `json:"peer"`
	UID      uint32 `json:"uid"`
	Holders  []struct {
		Pid  int    `json:"pid"`
		Fd   int    `json:"fd"`
		Comm string `json:"comm"`
	} `json:"holders"`
	Memberships *int `json:"memberships"`
}

var ssInodeRe = regexp.MustCompile(`\bino:(\d+)`)

// ssInodes runs ss and returns the non-zero inodes of its lines whose Netid
// (or, without one, state) column is netid.
func ssInodes(t *testing.T, netid string, args ...string) []uint64 {
	t.Helper()
	var out []uint64
	for _, line := range strings.Split(netnstest.Run(t, "ss", append([]string{"-H"}, args...)...), "\n") {
		if f := strings.Fields(line); len(f) == 0 || f[0] != netid {
			continue
		}
		m := ssInodeRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if n, _ := strconv.ParseUint(m[1], 10, 64); n != 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// patchAttr returns a copy of an image with the payload of top-level
// attribute id replaced.
func patchAttr(t *testing.T, img []byte, id uint16, payload []byte) []byte {
	t.Helper()
	var out []byte
	found := false
	for off := 0; off < len(img); {
		n := int(binary.NativeEndian.Uint16(img[off:]))
		typ := binary.NativeEndian.Uint16(img[off+2:])
		next := off + (n+3)&^3
		if typ&0x3fff == id {
			found = true
			a := binary.NativeEndian.AppendUint16(nil, uint16(4+len(payload)))
			a = binary.NativeEndian.AppendUint16(a, typ)
			a = append(a, payload...)
			for len(a)%4 != 0 {
				a = append(a, 0)
			}
			out = append(out, a...)
		} else {
			out = append(out, img[off:next]...)
		}
		off = next
	}
	if !found {
		t.Fatalf("image has no attribute %d", id)
	}
	return out
}

func TestCLISockets(t *testing.T) {
	netnstest.Require(t, "python3", "ss", "ip")
	bin := buildInetcr(t)
	h := netnstest.NewHolder(t)

	// Unbound sockets are in no sock_diag table, so every socket is bound.
	udp := h.Socket("udp")
	udp.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
	udp.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 77)
	grouped := h.Socket("udp")
	grouped.Must("bind", map[string]any{"addr": "0.0.0.0", "port": 0})
	ifindex := netnstest.Veth(t, "cli0", "10.77.0.1/24")
	grouped.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": ifindex})
	grouped.Must("join", map[string]any{"group": "239.1.2.4", "ifindex": ifindex})
	listener := h.Socket("tcp")
	listener.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
	listener.Must("listen", nil)
	raw := h.Socket("raw255")
	ours := []uint64{udp.Inode, grouped.Inode, listener.Inode, raw.Inode}

	var entries []lsJSON
	lsJSONOut := ok(t, bin, nil, "ls", "--json")
	if err := json.Unmarshal(lsJSONOut, &entries); err != nil {
		t.Fatalf("ls --json does not parse: %v\n%s", err, lsJSONOut)
	}
	byInode := map[uint64]lsJSON{}
	for _, e := range entries {
		byInode[e.Inode] = e
	}

	t.Run("ls matches ss", func(t *testing.T) {
		// ss lists its own namespace; so does ls --netns self.
		table := string(ok(t, bin, nil, "ls", "--netns", "self"))
		lines := strings.Split(strings.TrimSpace(table), "\n")
		if !strings.HasPrefix(lines[0], "INODE") {
			t.Fatalf("no header:\n%s", table)
		}
		lsProto := map[string][]uint64{}
		for _, line := range lines[1:] {
			f := strings.Fields(line)
			if len(f) != 10 {
				t.Fatalf("line %q has %d columns, want 10", line, len(f))
			}
			n, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				t.Fatalf("line %q: inode: %v", line, err)
			}
			lsProto[f[2]] = append(lsProto[f[2]], n)
		}
		for _, p := range []string{"udp", "tcp"} {
			slices.Sort(lsProto[p])
		}
		ssUDP, ssTCP := ssInodes(t, "udp", "-uaxe"), ssInodes(t, "LISTEN", "-tae")
		if !slices.Contains(ssUDP, udp.Inode) || !slices.Contains(ssTCP, listener.Inode) {
			t.Fatalf("ss does not show the holder's sockets: udp %v, tcp %v", ssUDP, ssTCP)
		}
		if !slices.Equal(ssUDP, lsProto["udp"]) {
			t.Errorf("ss -uaxe inodes %v, inetcr ls udp inodes %v\n%s", ssUDP, lsProto["udp"], table)
		}
		if !slices.Equal(ssTCP, lsProto["tcp"]) {
			t.Errorf("ss -tae inodes %v, inetcr ls tcp inodes %v\n%s", ssTCP, lsProto["tcp"], table)
		}
		for _, ino := range ours {
			if !strings.Contains(table, "\n"+strconv.FormatUint(ino, 10)+" ") {
				t.Errorf("ls lacks inode %d\n%s", ino, table)
			}
		}
		if !regexp.MustCompile(`(?m)^` + strconv.FormatUint(udp.Inode, 10) + `\s+net:\[\d+\]\s+udp\s+127\.0\.0\.1:\d+\s+0\.0\.0\.0:0\s+CLOSE\s+0\s+` + strconv.Itoa(h.Pid()) + `\s+python3\s+0$`).MatchString(table) {
			t.Errorf("ls line of the UDP socket is not as expected:\n%s", table)
		}
	})

	t.Run("ls --json", func(t *testing.T) {
		for _, ino := range ours {
			e, found := byInode[ino]
			if !found {
				t.Fatalf("ls --json lacks inode %d:\n%s", ino, lsJSONOut)
			}
			if len(e.Holders) != 1 || e.Holders[0].Pid != h.Pid() || e.Holders[0].Comm != "python3" {
				t.Errorf("inode %d: holders %+v, want python3 pid %d", ino, e.Holders, h.Pid())
			}
			if e.Memberships == nil {
				t.Errorf("inode %d: memberships not counted", ino)
			}
		}
		if e := byInode[grouped.Inode]; e.Memberships == nil || *e.Memberships != 2 {
			t.Errorf("socket with two groups: %+v", e)
		}
		if e := byInode[listener.Inode]; e.Type != "SOCK_STREAM" || e.Protocol != "tcp" || e.State != "LISTEN" {
			t.Errorf("listener: %+v", e)
		}
		if e := byInode[raw.Inode]; e.Type != "SOCK_RAW" || e.Protocol != float64(255) {
			t.Errorf("raw socket: %+v", e)
		}
		var fast []lsJSON
		if err := json.Unmarshal(ok(t, bin, nil, "ls", "--json", "--no-memberships"), &fast); err != nil {
			t.Fatal(err)
		}
		for _, e := range fast {
			if e.Memberships != nil {
				t.Errorf("--no-memberships counted %d for %d", *e.Memberships, e.Inode)
			}
		}
	})

	ino := strconv.FormatUint(udp.Inode, 10)
	image := ok(t, bin, nil, "dump", ino)

	t.Run("dump decode shows ttl", func(t *testing.T) {
		text := string(ok(t, bin, image, "decode"))
		if !regexp.MustCompile(`(?m)^ 47 IPOPT_TTL\s+77$`).MatchString(text) {
			t.Errorf("decode does not show ttl 77:\n%s", text)
		}
		for _, want := range []string{"TYPE", "SOCK_DGRAM", "udp (17)", "CLOSE (7)", "127.0.0.1:", "SOCKOPT_SNDBUF", "IPOPT_MEMBERSHIP                 0 memberships"} {
			if !strings.Contains(text, want) {
				t.Errorf("decode lacks %q:\n%s", want, text)
			}
		}
		gtext := string(ok(t, bin, ok(t, bin, nil, "dump", "socket:["+strconv.FormatUint(grouped.Inode, 10)+"]"), "decode"))
		if !strings.Contains(gtext, fmt.Sprintf("239.1.2.3 ifindex %d (cli0) address 0.0.0.0", ifindex)) {
			t.Errorf("decode does not show the membership:\n%s", gtext)
		}
		// -o FILE and decode FILE say the same.
		file := filepath.Join(t.TempDir(), "udp.img")
		if out := ok(t, bin, nil, "dump", "-o", file, ino); len(out) != 0 {
			t.Errorf("dump -o wrote %d bytes to stdout", len(out))
		}
		if got := string(ok(t, bin, nil, "decode", file)); got != text {
			t.Errorf("decode FILE differs from decode of stdin")
		}
	})

	t.Run("decode json encode is identity", func(t *testing.T) {
		for _, s := range []uint64{udp.Inode, grouped.Inode, listener.Inode, raw.Inode} {
			img := ok(t, bin, nil, "dump", strconv.FormatUint(s, 10))
			js := ok(t, bin, img, "decode", "--json")
			if !json.Valid(js) {
				t.Fatalf("decode --json is not JSON:\n%s", js)
			}
			if back := ok(t, bin, js, "encode"); !bytes.Equal(back, img) {
				t.Errorf("inode %d: decode --json | encode changed the image\n%s", s, js)
			}
		}
	})

	t.Run("restore edited json", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(ok(t, bin, image, "decode", "--json"), &m); err != nil {
			t.Fatal(err)
		}
		m["ipopt"].(map[string]any)["ttl"] = "99"
		if _, ok := m["ipopt"].(map[string]any)["ttl_default"]; ok {
			m["ipopt"].(map[string]any)["ttl_default"] = "0" // the exact reader's: a TTL of its own
		}
		js, _ := json.Marshal(m)
		edited := ok(t, bin, js, "encode")
		ok(t, bin, edited, "restore", ino)
		if got := udp.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 99 {
			t.Fatalf("ttl in the holder is %d after restore, want 99", got)
		}
		if after := ok(t, bin, nil, "dump", ino); !bytes.Equal(after, edited) {
			t.Error("dump after restore differs from the restored image")
		}
		// Back to the original, from a file.
		file := filepath.Join(t.TempDir(), "orig.img")
		os.WriteFile(file, image, 0o644)
		ok(t, bin, nil, "restore", "-i", file, ino)
		if got := udp.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 77 {
			t.Fatalf("ttl in the holder is %d after restoring the original, want 77", got)
		}
	})

	t.Run("restore refuses junk", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			image []byte
			names string
		}{
			{"ttl 0", patchAttr(t, image, 47, []byte{0}), "IPOPT_TTL"},
			{"ttl two bytes", patchAttr(t, image, 47, []byte{64, 0}), "IPOPT_TTL"},
			{"bad family", patchAttr(t, image, 3, []byte{1, 0}), "FAMILY"},
			{"truncated", image[:len(image)-3], ""},
			{"empty", []byte{}, "VERSION"},
			{"text", []byte("hello, world\n"), ""},
			{"tcp image onto udp", ok(t, bin, nil, "dump", strconv.FormatUint(listener.Inode, 10)), ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				line := refused(t, bin, tc.image, "inetcr: restore "+ino+": ", "restore", ino)
				t.Log(line)
				if tc.names != "" && !strings.Contains(line, tc.names) {
					t.Errorf("%q does not name %s", line, tc.names)
				}
				if after := ok(t, bin, nil, "dump", ino); !bytes.Equal(after, image) {
					t.Error("a refused restore changed the socket")
				}
			})
		}
	})

	t.Run("no such socket", func(t *testing.T) {
		const gone = "4000000000"
		if line := refused(t, bin, nil, "inetcr:", "dump", gone); line != "inetcr: dump "+gone+": no such socket" {
			t.Errorf("dump of a missing inode: %q", line)
		}
		if line := refused(t, bin, image, "inetcr:", "restore", gone); line != "inetcr: restore "+gone+": no such socket" {
			t.Errorf("restore onto a missing inode: %q", line)
		}
		refused(t, bin, nil, `inetcr: dump: "12ab" is not a socket inode number`, "dump", "12ab")
	})

	t.Run("completion lists inodes", func(t *testing.T) {
		out := string(ok(t, bin, nil, "dump", "--generate-bash-completion"))
		for _, i := range ours {
			if !slices.Contains(strings.Fields(out), strconv.FormatUint(i, 10)) {
				t.Errorf("completion of dump lacks %d: %q", i, out)
			}
		}
	})

	t.Run("mount", func(t *testing.T) {
		if _, err := os.Stat("/dev/fuse"); err != nil && !netnstest.InCI() {
			t.Skipf("no FUSE: %v", err)
		}
		mp := t.TempDir()
		cmd := exec.Command(bin, "mount", mp)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			unix.Unmount(mp, unix.MNT_DETACH)
		})
		ttlFile := filepath.Join(mp, ino, "ipopt", "ttl")
		var got []byte
		for range 100 {
			if got, _ = os.ReadFile(ttlFile); len(got) > 0 {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("inetcr mount exited: %v, stderr %q", err, errb.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		if string(got) != "77\n" {
			t.Fatalf("%s holds %q, want \"77\\n\"", ttlFile, got)
		}
		if img, err := os.ReadFile(filepath.Join(mp, ino, "image.bin")); err != nil || !bytes.Equal(img, image) {
			t.Errorf("image.bin differs from inetcr dump (%v)", err)
		}
		cmd.Process.Signal(unix.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("inetcr mount after SIGTERM: %v, stderr %q", err, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("inetcr mount did not exit after SIGTERM")
		}
		if mounts, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(mounts), " "+mp+" ") {
			t.Errorf("%s is still mounted after inetcr mount exited", mp)
		}
	})

	t.Run("binary to a terminal", func(t *testing.T) {
		pty := openPty(t)
		cmd := exec.Command(bin, "dump", ino)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = pty, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "refusing to write a binary image to a terminal") {
			t.Errorf("dump to a terminal: %v, stderr %q", err, errb.String())
		}
	})
}

// openPty returns the terminal end of a new pseudo-terminal.
func openPty(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return slave
}

func TestCLIOffline(t *testing.T) {
	bin := buildInetcr(t)

	t.Run("help", func(t *testing.T) {
		top := string(ok(t, bin, nil, "--help"))
		for _, cmd := range []string{"ls", "dump", "restore", "decode", "encode", "mount", "completion"} {
			if !strings.Contains(top, "\n   "+cmd+" ") {
				t.Errorf("inetcr --help lacks %s", cmd)
			}
			help := string(ok(t, bin, nil, cmd, "--help"))
			if !strings.Contains(help, "USAGE:\n   inetcr "+cmd) || !strings.Contains(help, "DESCRIPTION:") {
				t.Errorf("inetcr %s --help:\n%s", cmd, help)
			}
		}
		if !strings.Contains(top, "--backend KIND") {
			t.Errorf("inetcr --help lacks --backend:\n%s", top)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		refused(t, bin, nil, `inetcr: --backend "nope": want auto, kernel, exact or stock`, "--backend", "nope", "ls")
		refused(t, bin, nil, `inetcr: unknown command "frobnicate"`, "frobnicate")
		refused(t, bin, nil, "inetcr: dump: want one INODE argument, got 0", "dump")
		refused(t, bin, nil, "inetcr: restore: want one INODE argument, got 2", "restore", "1", "2")
		refused(t, bin, nil, "inetcr: dump: flag provided but not defined: -x", "dump", "-x", "1")
		refused(t, bin, nil, "inetcr: mount: want one MOUNTPOINT argument", "mount")
		refused(t, bin, nil, "inetcr: ls: unexpected argument", "ls", "extra")
	})

	t.Run("completion", func(t *testing.T) {
		netnstest.Require(t, "bash")
		script := ok(t, bin, nil, "completion", "bash")
		check := exec.Command("bash", "-n")
		check.Stdin = bytes.NewReader(script)
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("bash -n: %v %s", err, out)
		}
		// The script completes through the binary.
		for _, tc := range []struct{ words, want string }{
			{"inetcr de", "decode"},
			{"inetcr decode --", "--json --help"},
			{"inetcr decode --j", "--json"},
			{"inetcr --b", "--backend"},
		} {
			sh := fmt.Sprintf(`PATH=%s:$PATH; source /dev/stdin; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _inetcr; echo "${COMPREPLY[*]}"`, filepath.Dir(bin), tc.words)
			cmd := exec.Command("bash", "-c", sh)
			cmd.Stdin = bytes.NewReader(script)
			out, err := cmd.Output()
			if err != nil || strings.TrimSpace(string(out)) != tc.want {
				t.Errorf("completing %q: %q, %v; want %q", tc.words, out, err, tc.want)
			}
		}
		words := strings.Fields(string(ok(t, bin, nil, "--generate-bash-completion")))
		for _, cmd := range []string{"ls", "dump", "restore", "decode", "encode", "mount", "completion"} {
			if !slices.Contains(words, cmd) {
				t.Errorf("completion of commands lacks %s: %v", cmd, words)
			}
		}
		refused(t, bin, nil, "inetcr: completion: only bash", "completion", "fish")
	})

	t.Run("decode refuses junk", func(t *testing.T) {
		family := binary.NativeEndian.AppendUint16(nil, 8)
		family = binary.NativeEndian.AppendUint16(family, 3)
		family = binary.NativeEndian.AppendUint32(family, unix.AF_INET)
		refused(t, bin, family, "inetcr: decode: VERSION: must be the first attribute", "decode")
		refused(t, bin, []byte{}, "inetcr: decode: VERSION: image is empty", "decode")
		refused(t, bin, []byte("hello, world\n"), "inetcr: decode: VERSION: must be the first attribute: not an inetcr image (it starts with 68 65 6c 6c 6f 2c 20 77", "decode")
		missing := filepath.Join(t.TempDir(), "missing")
		refused(t, bin, nil, "inetcr: decode "+missing+": open "+missing+": no such file", "decode", missing)
	})

	t.Run("encode refuses bad json", func(t *testing.T) {
		refused(t, bin, []byte(`{"version":1,"colour":"red"}`), "inetcr: encode: colour: unknown key", "encode")
		refused(t, bin, []byte(`{"version":1`), "inetcr: encode: json:", "encode")
		refused(t, bin, []byte(`[]`), "inetcr: encode: image: is not a JSON object", "encode")
	})
}
