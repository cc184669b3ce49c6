package image_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/inetcr/inetcr/netlinkio/image"
)

const (
	docPath       = "../../docs/image-format.md"
	docBeginTable = "<!-- BEGIN GENERATED TABLE -->"
	docEndTable   = "<!-- END GENERATED TABLE -->"
)

// The -update flag rewrites generated documentation. Another test file of
// the package may define it first; then this one reads that flag.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite generated files (docs/image-format.md's table)")
	}
}

func docUpdateFlag() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// docSplit cuts the document around its generated table.
func docSplit(t *testing.T, doc string) (before, table, after string) {
	t.Helper()
	i := strings.Index(doc, docBeginTable)
	j := strings.Index(doc, docEndTable)
	if i < 0 || j < i || strings.Count(doc, docBeginTable) != 1 || strings.Count(doc, docEndTable) != 1 {
		t.Fatalf("%s: want one %s followed by one %s", docPath, docBeginTable, docEndTable)
	}
	i += len(docBeginTable)
	return doc[:i], strings.TrimPrefix(doc[i:j], "\n"), doc[j:]
}

func TestImageFormatDocIsCurrent(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, table, after := docSplit(t, string(raw))
	want := image.FormatTable()
	if table == want {
		return
	}
	if docUpdateFlag() {
		if err := os.WriteFile(docPath, []byte(before+"\n"+want+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the table of %s", docPath)
		return
	}
	t.Errorf("the table of %s is out of date; run go test ./netlinkio -run TestImageFormatDocIsCurrent -update\n%s",
		docPath, docLineDiff(table, want))
}

// docLineDiff lists the lines of the doc's table that differ from FormatTable.
func docLineDiff(have, want string) string {
	h, w := strings.Split(have, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := range max(len(h), len(w)) {
		var a, c string
		if i < len(h) {
			a = h[i]
		}
		if i < len(w) {
			c = w[i]
		}
		if a != c {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  doc:  " + a + "\n  want: " + c + "\n")
		}
	}
	return b.String()
}

// TestFormatTable checks the table's shape: one row per attribute id the
// format knows, ascending, each with seven cells.
func TestFormatTable(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(image.FormatTable(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("table of %d lines", len(lines))
	}
	ids := []uint16{1, 2, 3, 4, 5, 6, 7, 8, 54, 55, 65, 66, 67, 68, 69, 72, 90, 91, 260, 261, 262, 263, 264, 265, 266, 267, 300}
	for _, o := range image.Options {
		ids = append(ids, o.Attr)
		if o.Ext != 0 {
			ids = append(ids, o.Ext)
		}
	}
	if got, want := len(lines)-2, len(ids); got != want {
		t.Errorf("%d rows, want %d", got, want)
	}
	prev := -1
	for _, l := range lines[2:] {
		cells := strings.Split(strings.ReplaceAll(l, `\|`, ""), "|")
		if len(cells) != 9 {
			t.Errorf("row %q: %d cells, want 7", l, len(cells)-2)
			continue
		}
		id := 0
		for _, r := range strings.TrimSpace(cells[1]) {
			id = id*10 + int(r-'0')
		}
		if id <= prev {
			t.Errorf("row %q out of order", l)
		}
		prev = id
		if name := strings.Trim(strings.TrimSpace(cells[2]), "`"); name != image.AttrName(uint16(id)) {
			t.Errorf("row %d names %q, want %q", id, name, image.AttrName(uint16(id)))
		}
	}
	for _, o := range image.Options {
		if !strings.Contains(image.FormatTable(), "`"+o.Path()+"`") {
			t.Errorf("%s missing", o.Path())
		}
	}
}

// TestImageFormatDocExample checks the hex example of the format document
// against Encode: each run of hex lines between "..." lines appears in the
// image the example describes. Hex lines are little-endian.
func TestImageFormatDocExample(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the example is little-endian")
	}
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "### An example")
	end := strings.Index(doc, "## 2.")
	if start < 0 || end < start {
		t.Fatal("no example section")
	}
	img := &image.Image{
		Family: unix.AF_INET, Type: unix.SOCK_DGRAM, Protocol: unix.IPPROTO_UDP, State: 7,
		Local: cAddrPort("127.0.0.1:5353"), Peer: cAddrPort("0.0.0.0:0"),
		Values: codecValueSets[0].values(unix.SOCK_DGRAM),
		Memberships: []image.Membership{{Group: cAddr("239.1.2.3"), Address: cAddr("0.0.0.0"), Ifindex: 2,
			Mode: image.ModeInclude, Sources: cAddrs("10.0.0.1")}},
	}
	img.Values[mfID(t, "ipopt/ttl")] = image.Value{Num: 64}
	enc := img.Encode()
	if _, err := image.Decode(enc); err != nil {
		t.Fatalf("the example's image: %v", err)
	}
	var runs [][]byte
	var cur []byte
	inCode := false
	for _, line := range strings.Split(doc[start:end], "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			if cur != nil {
				runs, cur = append(runs, cur), nil
			}
			continue
		}
		if !inCode {
			continue
		}
		if strings.TrimSpace(line) == "..." {
			if cur != nil {
				runs, cur = append(runs, cur), nil
			}
			continue
		}
		for _, tok := range strings.Fields(line) {
			b, err := hex.DecodeString(tok)
			if err != nil || len(b) != 1 {
				break
			}
			cur = append(cur, b[0])
		}
	}
	if len(runs) < 4 {
		t.Fatalf("found %d runs of hex in the example", len(runs))
	}
	for _, r := range runs {
		if !bytes.Contains(enc, r) {
			t.Errorf("the example's bytes\n%x\nare not in the encoded image\n%x", r, enc)
		}
	}
}
