package saved

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// sampleImage is a UDP socket bound to 0.0.0.0:5000 with ttl 32 and a
// membership of 239.1.2.3 on ifindex 7: every option at the first value
// its parser takes.
func sampleImage(t *testing.T) *image.Image {
	t.Helper()
	img := &image.Image{Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 7, Values: map[uint16]image.Value{}}
	img.Local = mustAddrPort("0.0.0.0:5000")
	img.Peer = mustAddrPort("0.0.0.0:0")
	for _, o := range image.OptionsFor(img.Family, img.Type) {
		for _, text := range []string{"1", "2", "64", "0 0", "", "0.0.0.0", "0"} {
			if v, err := o.Parse(text); err == nil && o.Check(v) == nil {
				img.Values[o.Attr] = v
				break
			}
		}
	}
	ttl, _ := image.LookupOption("ipopt", "ttl")
	img.Values[ttl.Attr] = image.Value{Num: 32}
	img.Memberships = []image.Membership{{Group: mustAddr("239.1.2.3"), Address: mustAddr("0.0.0.0"), Ifindex: 7}}
	if err := img.Validate(); err != nil {
		t.Fatal(err)
	}
	return img
}

// file is one member of a test archive.
type file struct {
	name string
	typ  byte
	body string
	size int64 // for a header that claims more than the body
}

// tarOf makes a tar archive of files, as GNU tar would (GNU format).
func tarOf(t *testing.T, files []file) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: 0o600, Size: int64(len(f.body)), Format: tar.FormatGNU}
		if f.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			h.Size = 0
			h.Linkname = f.body
		}
		if f.size > 0 {
			h.Size = f.size
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			return b.Bytes() // a header that claims what never comes
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(f.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipOf(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// treeOf is what tar -C /inetcr -cf x . holds of one socket.
func treeOf(t *testing.T, ino string, img *image.Image) []file {
	return []file{
		{name: "./", typ: tar.TypeDir},
		{name: "./" + ino + "/", typ: tar.TypeDir},
		{name: "./" + ino + "/image.bin", body: string(img.Encode())},
		{name: "./" + ino + "/info", body: "protocol udp (17)\nstate UNCONN\nlocal 0.0.0.0:5000\npeer 0.0.0.0:0\nuid 0\nholder 4242 5 socat\nholder 4243 5 socat worker\n"},
		{name: "./" + ino + "/ipopt/", typ: tar.TypeDir},
		{name: "./" + ino + "/ipopt/ttl", body: "32\n"},
		{name: "./" + ino + "/membership/", typ: tar.TypeDir},
		{name: "./" + ino + "/membership/239.1.2.3@eth0", body: "group 239.1.2.3\ninterface eth0\nifindex 7\nmode exclude\nsources\n"},
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadTree reads the same socket from a plain tar, a gzip'd one, an
// extracted tree, a dump --all directory and an image file.
func TestReadTree(t *testing.T) {
	img := sampleImage(t)
	files := treeOf(t, "12345", img)
	plain := writeTemp(t, "state.tar", tarOf(t, files))
	gz := writeTemp(t, "state.tgz", gzipOf(tarOf(t, files)))
	tree := t.TempDir()
	for _, f := range files {
		p := filepath.Join(tree, f.name)
		if f.typ == tar.TypeDir {
			os.MkdirAll(p, 0o700)
		} else if err := os.WriteFile(p, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dump := t.TempDir()
	os.WriteFile(filepath.Join(dump, "12345.bin"), img.Encode(), 0o644)
	imgFile := writeTemp(t, "web.bin", img.Encode())

	for _, c := range []struct {
		name, src string
		info      bool
	}{
		{"tar", plain, true},
		{"gzip", gz, true},
		{"extracted tree", tree, true},
		{"dump --all", dump, false},
		{"image file", imgFile, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			es, err := Read([]string{c.src})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 1 {
				t.Fatalf("%d entries, want 1: %+v", len(es), es)
			}
			e := es[0]
			got, err := e.Image()
			if err != nil || !slices.Equal(got.Encode(), img.Encode()) || e.Header.Local != img.Local {
				t.Error("the image read back differs")
			}
			if len(e.Notes) != 0 {
				t.Errorf("notes: %q", e.Notes)
			}
			if !c.info {
				if e.Info != nil || len(e.IfNames) != 0 {
					t.Errorf("info %+v, names %v from a source without them", e.Info, e.IfNames)
				}
				return
			}
			if e.Inode != 12345 || !strings.HasSuffix(e.Source, "12345/") {
				t.Errorf("inode %d source %q", e.Inode, e.Source)
			}
			want := []image.Holder{{Pid: 4242, Fd: 5, Comm: "socat"}, {Pid: 4243, Fd: 5, Comm: "socat worker"}}
			if e.Info == nil || !slices.Equal(e.Info.Holders, want) || e.Info.Local != img.Local {
				t.Errorf("info %+v", e.Info)
			}
			if e.IfNames[7] != "eth0" {
				t.Errorf("interface names %v, want 7: eth0", e.IfNames)
			}
		})
	}
}

// TestReadNotes: option and membership files that disagree with image.bin
// are noted, and image.bin is what is used.
func TestReadNotes(t *testing.T) {
	img := sampleImage(t)
	files := treeOf(t, "12345", img)
	files[5].body = "9\n" // ipopt/ttl
	files = append(files,
		file{name: "./12345/membership/239.9.9.9@eth1", body: "group 239.9.9.9\ninterface eth1\nifindex 8\n"},
		file{name: "./12345/sockopt/", typ: tar.TypeDir},
		file{name: "./12345/sockopt/nosuch", body: "1\n"},
	)
	files[3].body = strings.Replace(files[3].body, "local 0.0.0.0:5000", "local 0.0.0.0:5001", 1)
	es, err := Read([]string{writeTemp(t, "x.tar", tarOf(t, files))})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(es[0].Notes, "\n")
	for _, want := range []string{
		`ipopt/ttl says "9", image.bin says "32", which is used`,
		"membership/239.9.9.9@eth1 is not in image.bin",
		"sockopt/nosuch: not an option this inetcr knows",
		"info says local 0.0.0.0:5001, image.bin 0.0.0.0:5000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("notes lack %q:\n%s", want, got)
		}
	}
}

// TestReadPartial: a socket saved without image.bin gives its option and
// membership files, and info its identity.
func TestReadPartial(t *testing.T) {
	img := sampleImage(t)
	files := treeOf(t, "12345", img)
	files = slices.Delete(files, 2, 3) // image.bin
	es, err := Read([]string{writeTemp(t, "x.tar", tarOf(t, files))})
	if err != nil {
		t.Fatal(err)
	}
	e := es[0]
	if e.HasImage() || e.Info == nil || e.Options["ipopt/ttl"].Num != 32 || len(e.Memberships) != 1 || e.Memberships[0].IfName != "eth0" {
		t.Errorf("partial entry: %+v", e)
	}
}

// TestRefusals: every hostile or broken source is refused, naming the
// member, and gives no entry at all.
func TestRefusals(t *testing.T) {
	img := sampleImage(t)
	good := treeOf(t, "12345", img)
	with := func(fs ...file) []byte { return tarOf(t, append(slices.Clone(good), fs...)) }
	whole := tarOf(t, good)
	gz := gzipOf(whole)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"dot dot", with(file{name: "./12345/../../etc/passwd", body: "x"}), `path with ".."`},
		{"dot dot directory", with(file{name: "../12345/", typ: tar.TypeDir}), `path with ".."`},
		{"absolute", with(file{name: "/12345/image.bin", body: "x"}), "absolute path"},
		{"symlink", with(file{name: "./12345/ipopt/tos", typ: tar.TypeSymlink, body: "/etc/shadow"}), "symbolic link member"},
		{"hard link", with(file{name: "./12345/ipopt/tos", typ: tar.TypeLink, body: "./12345/ipopt/ttl"}), "hard link member"},
		{"char device", with(file{name: "./12345/ipopt/tos", typ: tar.TypeChar}), "character device member"},
		{"block device", with(file{name: "./12345/ipopt/tos", typ: tar.TypeBlock}), "block device member"},
		{"fifo", with(file{name: "./12345/ipopt/tos", typ: tar.TypeFifo}), "fifo member"},
		{"huge option", with(file{name: "./12345/ipopt/tos", size: 100 << 20}), "huge member: 104857600 bytes"},
		{"huge image", with(file{name: "./9/image.bin", size: 1 << 40}), "huge member"},
		{"junk image", with(file{name: "./9/image.bin", body: "junk junk junk"}), "9/image.bin: not an image"},
		{"truncated image", with(file{name: "./9/image.bin", body: string(img.Encode()[:40])}), "9/image.bin: not an image"},
		{"truncated gzip", gz[:len(gz)/2], "truncated"},
		{"gzip without trailer", gz[:len(gz)-4], "gzip stream"},
		{"truncated tar", whole[:1536], "truncated"},
		{"not a tree file", with(file{name: "./etc/passwd", body: "root"}), "not a file of the tree"},
		{"twice", with(file{name: "./12345/ipopt/ttl", body: "64\n"}), "appears twice"},
		{"bad membership", with(file{name: "./12345/membership/10.0.0.1@eth0", body: "group 10.0.0.1\n"}), "multicast"},
		{"bad info", with(file{name: "./9/info", body: "protocol udp (17)\nlocal nowhere\npeer 0.0.0.0:0\n"}), "info: line"},
		{"not an archive", []byte("hello, world\n"), "not a tar archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			es, err := Read([]string{writeTemp(t, "x", c.data)})
			if err == nil || !Refused(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (refused %v), want a refusal with %q", err, Refused(err), c.want)
			}
			if es != nil {
				t.Errorf("a refused source gave %d entries", len(es))
			}
		})
	}
}

// TestRefusedDirectory: a directory is held to the same rules: no link is
// followed, no special file read.
func TestRefusedDirectory(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(dir string) error
		want string
	}{
		{"symlink", func(d string) error { return os.Symlink("/etc/shadow", filepath.Join(d, "1.bin")) }, "symbolic link"},
		{"fifo", func(d string) error { return unix.Mkfifo(filepath.Join(d, "1.bin"), 0o600) }, "file: a saved tree holds only"},
		{"huge", func(d string) error { return os.WriteFile(filepath.Join(d, "1.bin"), make([]byte, maxImage+1), 0o600) }, "huge member"},
		{"stray", func(d string) error { return os.WriteFile(filepath.Join(d, "README"), nil, 0o600) }, "not a file of the tree"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := c.make(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := Read([]string{dir}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestParseInfo reads the lines that say where a socket lived: namespace
// and cgroup.
func TestParseInfo(t *testing.T) {
	for _, c := range []struct {
		text        string
		inode       uint64
		name, group string
	}{
		{"netns net:[4026531840]\n", 4026531840, "", ""},
		{"netns net:[4026532001] blue\ncgroup /system.slice/feed.service\n", 4026532001, "blue", "/system.slice/feed.service"},
		{"netns net:[4026532001] (/run/netns/red)\nrqueue 0\n", 4026532001, "red", ""},
		// As the tree writes it: one line per holding process, the first counts.
		{"cgroup 4242 /system.slice/feed.service\ncgroup 4243 /other\nnetns net:[4026532001] blue\n", 4026532001, "blue", "/system.slice/feed.service"},
	} {
		i, err := parseInfo("protocol tcp (6)\nlocal 0.0.0.0:80\npeer 0.0.0.0:0\n" + c.text)
		if err != nil {
			t.Fatal(err)
		}
		if i.NetnsInode != c.inode || i.NetnsName != c.name || i.Cgroup != c.group || i.Type != unix.SOCK_STREAM {
			t.Errorf("%q: %+v", c.text, i)
		}
	}
}

func mustAddr(s string) netip.Addr         { return netip.MustParseAddr(s) }
func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
