package nodes_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/nodes"
	"golang.org/x/sys/unix"
)

// The tests mount the tree on a fake backend, in a private mount and
// network namespace (netnstest), and drive it with the real tools.
func TestMain(m *testing.M) { netnstest.Main(m) }

const (
	udp  = 1001
	tcp  = 1002
	raw  = 1003
	udp2 = 1004
	hid  = 2001 // not listed: an unbound socket
)

func setup(t *testing.T) (*fake, string) {
	t.Helper()
	f := newFake()
	f.add(udp, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	f.add(tcp, unix.SOCK_STREAM, unix.IPPROTO_TCP, true)
	f.add(raw, unix.SOCK_RAW, unix.IPPROTO_UDP, true)
	f.add(udp2, unix.SOCK_DGRAM, unix.IPPROTO_UDP, true)
	f.add(hid, unix.SOCK_DGRAM, unix.IPPROTO_UDP, false)
	return f, mount(t, f)
}

// mount mounts the tree on backend b in a temporary directory and unmounts
// it when the test ends.
func mount(t *testing.T, b netlinkio.Backend) string {
	t.Helper()
	dir := t.TempDir()
	netnstest.MountTree(t, dir, inetcrfs.Options{Debug: os.Getenv("INETCR_FUSE_DEBUG") != "", Backend: b, Logger: slog.New(slog.NewTextHandler(dbgOut(), nil))})
	return dir
}

func TestListing(t *testing.T) {
	_, mnt := setup(t)
	if got, want := netnstest.Names(t, mnt), []string{"1001", "1002", "1003", "1004"}; !slices.Equal(got, want) {
		t.Fatalf("root: %v, want %v", got, want)
	}
	if got, want := netnstest.Names(t, filepath.Join(mnt, "1001")), []string{"image.bin", "info", "ipopt", "membership", "sockopt", "udpopt"}; !slices.Equal(got, want) {
		t.Fatalf("socket dir: %v, want %v", got, want)
	}
	if out := netnstest.MustSh(t, fmt.Sprintf("stat -c %%i %s %s/1001 && ls -a %s/1001 | tr '\\n' ' '", mnt, mnt, mnt)); out != "1\n1001\n. .. image.bin info ipopt membership sockopt udpopt " {
		t.Errorf("inode numbers and ls -a: %q", out)
	}
	// The unbound socket is not listed but can be looked up.
	if _, err := os.Stat(filepath.Join(mnt, "2001", "ipopt", "ttl")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"0", "01001", "x", "999"} {
		if _, err := os.Stat(filepath.Join(mnt, bad)); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("stat %s: %v, want ENOENT", bad, err)
		}
	}
	for _, c := range []struct {
		ino     string
		has     []string
		hasNot  []string
		sockopt bool
	}{
		{"1001", []string{"pktinfo", "multicast_ttl", "ttl", "options"}, []string{"hdrincl", "router_alert"}, true},
		{"1002", []string{"ttl", "tos", "options"}, []string{"pktinfo", "recvtos", "recvopts", "retopts", "hdrincl", "recverr", "multicast_ttl", "multicast_if"}, true},
		{"1003", []string{"hdrincl", "router_alert", "pktinfo"}, nil, true},
	} {
		got := netnstest.Names(t, filepath.Join(mnt, c.ino, "ipopt"))
		if !slices.IsSorted(got) {
			t.Errorf("%s/ipopt not sorted: %v", c.ino, got)
		}
		for _, n := range c.has {
			if !slices.Contains(got, n) {
				t.Errorf("%s/ipopt lacks %s: %v", c.ino, n, got)
			}
		}
		for _, n := range c.hasNot {
			if slices.Contains(got, n) {
				t.Errorf("%s/ipopt has %s: %v", c.ino, n, got)
			}
			if _, err := os.Stat(filepath.Join(mnt, c.ino, "ipopt", n)); !errors.Is(err, syscall.ENOENT) {
				t.Errorf("stat %s/ipopt/%s: %v", c.ino, n, err)
			}
		}
	}
}

func TestReadOptions(t *testing.T) {
	f, mnt := setup(t)
	for _, ino := range []uint64{udp, tcp, raw} {
		img := f.get(ino)
		for _, o := range image.OptionsFor(img.Family, img.Type) {
			p := filepath.Join(mnt, fmt.Sprint(ino), o.Dir, o.Name)
			if o.ExactOnly {
				// The fake is no exact reader: the file is not there.
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s: an exact-only row under another backend: %v", p, err)
				}
				continue
			}
			want := o.Format(img.Values[o.Attr]) + "\n"
			if got := netnstest.ReadFile(t, p); got != want {
				t.Errorf("%s: %q, want %q", p, got, want)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != int64(len(want)) {
				t.Errorf("%s: size %d, want %d", p, fi.Size(), len(want))
			}
		}
	}
	if got := netnstest.ReadFile(t, filepath.Join(mnt, "1001", "image.bin")); got != string(f.get(udp).Encode()) {
		t.Errorf("image.bin differs from Encode")
	}
	info := netnstest.ReadFile(t, filepath.Join(mnt, "1001", "info"))
	for _, want := range []string{"protocol udp (17)\n", "state UNCONN\n", "local 0.0.0.0:0\n", "uid 0\n", "holder 1 3 fake\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
}

func TestEchoSetsOption(t *testing.T) {
	f, mnt := setup(t)
	ttl := filepath.Join(mnt, "1001", "ipopt", "ttl")
	netnstest.MustSh(t, "echo 33 > "+ttl)
	if v := f.value(udp, "ipopt", "ttl"); v.Num != 33 {
		t.Fatalf("ttl %d, want 33", v.Num)
	}
	if got := netnstest.ReadFile(t, ttl); got != "33\n" {
		t.Fatalf("read after write: %q", got)
	}
	netnstest.MustSh(t, "echo 0x80 > "+ttl)
	if got := netnstest.ReadFile(t, ttl); got != "128\n" {
		t.Fatalf("read after hex write: %q", got)
	}
	for _, bad := range []string{"0", "256", "-1", "text", "1 2", ""} {
		out, code := netnstest.Sh(t, fmt.Sprintf("echo '%s' > %s", bad, ttl))
		if code == 0 || !strings.Contains(out, "Invalid argument") {
			t.Errorf("echo %q: exit %d, %s", bad, code, out)
		}
		if v := f.value(udp, "ipopt", "ttl"); v.Num != 128 {
			t.Fatalf("after %q: ttl %d", bad, v.Num)
		}
	}
	// O_TRUNC alone succeeds and changes nothing.
	netnstest.MustSh(t, ": > "+ttl)
	if v := f.value(udp, "ipopt", "ttl"); v.Num != 128 {
		t.Fatalf("after truncate: ttl %d", v.Num)
	}
	netnstest.MustSh(t, "echo '1 5' > "+filepath.Join(mnt, "1001", "sockopt", "linger"))
	if v := f.value(udp, "sockopt", "linger"); v.Num != 1 || v.Num2 != 5 {
		t.Fatalf("linger %+v", v)
	}
}

func TestMtimeMovesOnlyOnChange(t *testing.T) {
	f, mnt := setup(t)
	ttl := filepath.Join(mnt, "1001", "ipopt", "ttl")
	st1, err := os.Stat(ttl)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	netnstest.ReadFile(t, ttl)
	st2, _ := os.Stat(ttl)
	if !st1.ModTime().Equal(st2.ModTime()) {
		t.Fatalf("mtime moved without a change: %v -> %v", st1.ModTime(), st2.ModTime())
	}
	f.set(udp, func(img *image.Image) {
		o, _ := image.LookupOption("ipopt", "ttl")
		img.Values[o.Attr] = image.Value{Num: 100}
	})
	// Past the dump cache and the kernel's attribute cache: a change the
	// owner makes shows in a stat within that time (docs/tree.md).
	time.Sleep(nodes.DefaultCacheTTL + inetcrfs.KernelCacheTimeout + 50*time.Millisecond)
	st3, _ := os.Stat(ttl)
	if !st3.ModTime().After(st2.ModTime()) || st3.Size() != 4 {
		t.Fatalf("after a change: mtime %v (was %v), size %d", st3.ModTime(), st2.ModTime(), st3.Size())
	}
}

func TestImageCopy(t *testing.T) {
	f, mnt := setup(t)
	netnstest.MustSh(t, fmt.Sprintf("echo 99 > %s/1001/ipopt/ttl && echo 1 > %s/1001/ipopt/recvttl", mnt, mnt))
	netnstest.MustSh(t, fmt.Sprintf("cp %s/1001/image.bin %s/1004/image.bin", mnt, mnt))
	a, b := f.get(udp), f.get(udp2)
	if !bytes.Equal(a.Encode(), b.Encode()) {
		t.Fatalf("clone differs")
	}
	// Junk fails at close and changes nothing.
	before := f.get(udp2).Encode()
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("this is not an image, not at all"), 0o644)
	out, code := netnstest.Sh(t, fmt.Sprintf("cp %s %s/1004/image.bin", junk, mnt))
	if code == 0 || !strings.Contains(out, "Invalid argument") {
		t.Fatalf("junk cp: exit %d: %s", code, out)
	}
	if !bytes.Equal(before, f.get(udp2).Encode()) {
		t.Fatal("junk image changed the socket")
	}
	// A TCP image onto a UDP socket is refused whole.
	out, code = netnstest.Sh(t, fmt.Sprintf("cp %s/1002/image.bin %s/1004/image.bin", mnt, mnt))
	if code == 0 {
		t.Fatalf("tcp onto udp: exit 0: %s", out)
	}
	// An open O_TRUNC that writes nothing restores nothing.
	netnstest.MustSh(t, fmt.Sprintf(": > %s/1004/image.bin", mnt))
	if !bytes.Equal(before, f.get(udp2).Encode()) {
		t.Fatal("empty write changed the socket")
	}
}

func TestMembership(t *testing.T) {
	f, mnt := setup(t)
	dir := filepath.Join(mnt, "1001", "membership")
	netnstest.MustSh(t, "touch "+dir+"/239.1.2.3@lo")
	netnstest.MustSh(t, "touch "+dir+"/239.1.2.3@lo") // idempotent
	img := f.get(udp)
	if len(img.Memberships) != 1 || img.Memberships[0].Group != netip.MustParseAddr("239.1.2.3") || img.Memberships[0].Ifindex != 1 {
		t.Fatalf("memberships %+v", img.Memberships)
	}
	if got := netnstest.Names(t, dir); !slices.Equal(got, []string{"239.1.2.3@lo"}) {
		t.Fatalf("ls membership: %v", got)
	}
	want := "group 239.1.2.3\ninterface lo\nifindex 1\nmode exclude\nsources\n"
	if got := netnstest.ReadFile(t, dir+"/239.1.2.3@lo"); got != want {
		t.Fatalf("content %q, want %q", got, want)
	}
	netnstest.MustSh(t, fmt.Sprintf("printf 'mode include\\nsources 10.0.0.2 10.0.0.1\\n' > %s/239.1.2.3@lo", dir))
	img = f.get(udp)
	if m := img.Memberships[0]; m.Mode != image.ModeInclude || len(m.Sources) != 2 {
		t.Fatalf("filter %+v", m)
	}
	for name, want := range map[string]string{
		"1.2.3.4@lo":     "Invalid argument",
		"239.1.2.3@nope": "No such device",
		"239.1.2.3":      "Invalid argument",
		"239.1.2.3@":     "Invalid argument",
	} {
		out, code := netnstest.Sh(t, fmt.Sprintf("touch '%s/%s'", dir, name))
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("touch %s: exit %d %s, want %s", name, code, out, want)
		}
	}
	netnstest.MustSh(t, "rm "+dir+"/239.1.2.3@lo")
	if n := f.memberships(udp, time.Second, 0); n != 0 {
		t.Fatalf("after rm: %d memberships", n)
	}
	if out, code := netnstest.Sh(t, "rm "+dir+"/239.1.2.3@lo"); code == 0 {
		t.Fatalf("second rm succeeded: %s", out)
	}
	// TCP sockets have no memberships.
	if out, code := netnstest.Sh(t, "touch "+mnt+"/1002/membership/239.1.2.3@lo"); code == 0 {
		t.Fatalf("tcp join succeeded: %s", out)
	}
}

func TestRefusedOperations(t *testing.T) {
	_, mnt := setup(t)
	s := filepath.Join(mnt, "1001")
	for _, c := range []struct {
		script string
		want   string
	}{
		{"mkdir " + mnt + "/5", "Operation not permitted"},
		{"mkdir " + s + "/x", "Operation not permitted"},
		{"rmdir " + s, "Operation not permitted"},
		{"rmdir " + s + "/ipopt", "Operation not permitted"},
		{"mv " + s + "/ipopt/ttl " + s + "/ipopt/tos", "Operation not permitted"},
		{"mv " + s + "/image.bin " + s + "/x", "Operation not permitted"},
		{"ln -s x " + s + "/l", "Operation not permitted"},
		{"ln " + s + "/info " + s + "/ipopt/l", "Operation not permitted"},
		{"touch " + s + "/ipopt/nosuch", "Operation not permitted"},
		{"touch " + mnt + "/f", "Operation not permitted"},
		{"rm " + s + "/ipopt/nosuch", "No such file"},
		{"chmod 400 " + s + "/ipopt/ttl", "Operation not permitted"},
		{"chown 5 " + s + "/ipopt/ttl", "Operation not permitted"},
		{"truncate -s 7 " + s + "/ipopt/ttl", "Invalid argument"},
	} {
		out, code := netnstest.Sh(t, c.script)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d: %s (want %s)", c.script, code, out, c.want)
		}
	}
	// What tar -x and cp -a do is accepted.
	netnstest.MustSh(t, "chmod 600 "+s+"/ipopt/ttl && chown 0:0 "+s+"/ipopt/ttl && touch -d @1000000000 "+s+"/ipopt/ttl")
	fi, _ := os.Stat(s + "/ipopt/ttl")
	if fi.ModTime().Unix() != 1000000000 {
		t.Errorf("mtime %v after touch -d", fi.ModTime())
	}
	netnstest.MustSh(t, "chmod 700 "+s+" && touch -d @1000000000 "+s)
	// Group and other bits are ignored (docs/tree.md): the mode stays.
	netnstest.MustSh(t, "chmod 644 "+s+"/ipopt/ttl && chmod 755 "+s)
	if fi, _ := os.Stat(s + "/ipopt/ttl"); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after chmod 644", fi.Mode())
	}
}

// TestUnlinkHides checks the semantics docs/tree.md gives unlink of a
// fixed file: nothing changes, the name is gone for the process that
// removed it until it creates it again.
func TestUnlinkHides(t *testing.T) {
	f, mnt := setup(t)
	ttl := filepath.Join(mnt, "1001", "ipopt", "ttl")
	// What tar -x does, in this process: O_EXCL create, EEXIST, unlink,
	// retry, write.
	if _, err := os.OpenFile(ttl, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("O_EXCL create of an existing file: %v", err)
	}
	if err := os.Remove(ttl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ttl); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("stat after unlink: %v", err)
	}
	if slices.Contains(netnstest.Names(t, filepath.Dir(ttl)), "ttl") {
		t.Fatal("listed after unlink")
	}
	// Another process still sees it.
	if out := netnstest.MustSh(t, "cat "+ttl); out != "64\n" {
		t.Fatalf("cat by another process: %q", out)
	}
	fd, err := os.OpenFile(ttl, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatalf("create after unlink: %v", err)
	}
	if _, err := fd.Write([]byte("12\n")); err != nil {
		t.Fatal(err)
	}
	if err := fd.Close(); err != nil {
		t.Fatal(err)
	}
	if v := f.value(udp, "ipopt", "ttl"); v.Num != 12 {
		t.Fatalf("ttl %d", v.Num)
	}
	if got := netnstest.ReadFile(t, ttl); got != "12\n" {
		t.Fatalf("after re-create: %q", got)
	}
	// rm in one process hides nothing from the next.
	netnstest.MustSh(t, fmt.Sprintf("rm %s %s/1001/image.bin %s/1001/info && cat %s", ttl, mnt, mnt, ttl))
	if _, err := os.Stat(filepath.Join(mnt, "1001", "image.bin")); err != nil {
		t.Fatal(err)
	}
	if v := f.value(udp, "ipopt", "ttl"); v.Num != 12 {
		t.Fatalf("rm changed ttl to %d", v.Num)
	}
}

func TestSocketGoes(t *testing.T) {
	f, mnt := setup(t)
	ttl := filepath.Join(mnt, "1001", "ipopt", "ttl")
	fd, err := os.OpenFile(ttl, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	f.remove(udp)
	deadline := time.Now().Add(time.Second)
	for {
		_, err := os.Stat(ttl)
		if errors.Is(err, syscall.ENOENT) && !slices.Contains(netnstest.Names(t, mnt), "1001") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket still there after a second: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := fd.Write([]byte("5\n")); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("write to a gone socket: %v", err)
	}
	if _, err := os.ReadFile(filepath.Join(mnt, "1001", "image.bin")); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("read of a gone socket: %v", err)
	}
}

func TestTar(t *testing.T) {
	netnstest.Require(t, "tar")
	f, mnt := setup(t)
	s := mnt + "/1001"
	netnstest.MustSh(t, fmt.Sprintf("echo 77 > %s/ipopt/ttl && echo 1 > %s/ipopt/recvttl && touch %s/membership/239.1.2.3@lo %s/membership/239.9.9.9@lo", s, s, s, s))
	want := f.get(udp).Encode()
	backup := filepath.Join(t.TempDir(), "b.tar")
	if out := netnstest.MustSh(t, fmt.Sprintf("tar -C %s -cf %s 1001 2>&1", mnt, backup)); out != "" {
		t.Fatalf("tar -c said: %s", out)
	}
	list := netnstest.MustSh(t, "tar -tvf "+backup)
	if !strings.Contains(list, "1001/ipopt/ttl") || !strings.Contains(list, "1001/membership/239.9.9.9@lo") {
		t.Fatalf("archive:\n%s", list)
	}
	change := func() {
		netnstest.MustSh(t, fmt.Sprintf("echo 5 > %s/ipopt/ttl && echo 0 > %s/ipopt/recvttl && rm %s/membership/239.9.9.9@lo && touch %s/membership/239.4.4.4@lo", s, s, s, s))
		if bytes.Equal(want, f.get(udp).Encode()) {
			t.Fatal("change changed nothing")
		}
	}
	for _, args := range []string{"", "--overwrite"} {
		change()
		out := netnstest.MustSh(t, fmt.Sprintf("tar -C %s -xf %s %s 2>&1", mnt, backup, args))
		if out != "" {
			t.Errorf("tar -x %s said: %s", args, out)
		}
		if got := f.get(udp).Encode(); !bytes.Equal(got, want) {
			t.Errorf("tar -x %s: image differs:\n%+v\nwant\n%+v", args, f.get(udp), mustDecode(t, want))
		}
	}
	// Onto another socket (same uid): cp -a and tar -x alike.
	netnstest.MustSh(t, fmt.Sprintf("cp -a %s/. %s/1004/", s, mnt))
	if got := f.get(udp2); got.Values[47].Num != 77 || len(got.Memberships) != 2 {
		t.Errorf("cp -a: %+v", got)
	}
}

func mustDecode(t *testing.T, b []byte) *image.Image {
	img, err := image.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestConcurrent(t *testing.T) {
	f, mnt := setup(t)
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Second)
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				b, err := os.ReadFile(filepath.Join(mnt, "1001", "ipopt", "ttl"))
				if err != nil {
					t.Error(err)
					return
				}
				if len(b) < 2 || b[len(b)-1] != '\n' {
					t.Errorf("torn read %q", b)
					return
				}
				os.ReadFile(filepath.Join(mnt, "1001", "image.bin"))
				os.ReadDir(filepath.Join(mnt, "1001", "membership"))
			}
		}()
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				v := fmt.Sprintf("%d\n", 1+(n*7+i)%255)
				if err := os.WriteFile(filepath.Join(mnt, "1001", "ipopt", "ttl"), []byte(v), 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_ = f
}

// dbgOut is where the mount logs: with INETCR_FUSE_DEBUG set, every FUSE
// request and reply goes to stderr, which is how to see what the kernel
// asks of the tree in a failing test.
func dbgOut() io.Writer {
	if os.Getenv("INETCR_FUSE_DEBUG") != "" {
		return os.Stderr
	}
	return io.Discard
}
