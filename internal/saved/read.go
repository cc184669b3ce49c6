package saved

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// Read reads every source and returns their entries in the order the
// sources name them. "-" is standard input (a tar archive). Any refusal
// of any source returns no entries at all.
func Read(sources []string) ([]Entry, error) {
	var out []Entry
	for _, src := range sources {
		es, err := readOne(src)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// readOne reads one source: a directory, or a file that is a tar archive
// (plain or gzip) or an image.
func readOne(src string) ([]Entry, error) {
	if src == "-" {
		return readStream("stdin", os.Stdin)
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		a := newAssembly(src)
		if err := readDir(src, a.add); err != nil {
			return nil, err
		}
		return a.entries()
	}
	if !st.Mode().IsRegular() {
		return nil, &refusal{source: src, reason: "not a regular file or a directory"}
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readStream(src, f)
}

// readStream tells a tar archive (gzip or plain) from an image by its
// first bytes and reads it.
func readStream(src string, r io.Reader) ([]Entry, error) {
	br := bufio.NewReaderSize(r, 1024)
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}), isTarHeader(head):
		a := newAssembly(src)
		if err := readTar(src, br, a.add); err != nil {
			return nil, err
		}
		return a.entries()
	case image.CheckImageStart(head) == nil && len(head) >= 8:
		data, err := io.ReadAll(io.LimitReader(br, maxImage+1))
		if err != nil {
			return nil, err
		}
		if len(data) > maxImage {
			return nil, &refusal{source: src, reason: fmt.Sprintf("huge image: more than %d bytes", maxImage)}
		}
		img, err := image.Decode(data)
		if err != nil {
			return nil, &refusal{source: src, reason: "not an image: " + err.Error()}
		}
		ino, _ := binInode(baseName(src))
		return []Entry{{Source: src, Inode: ino, Header: headerOf(img), image: data}}, nil
	}
	return nil, &refusal{source: src, reason: "not a tar archive (plain or gzip), a directory or an inetcr image"}
}

// isTarHeader reports whether a block is a tar header: POSIX ("ustar\0")
// and GNU ("ustar  \0") put their magic at offset 257.
func isTarHeader(b []byte) bool {
	return len(b) >= 263 && string(b[257:262]) == "ustar"
}

func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// binInode reads the inode of a file dump --all wrote, "<inode>.bin".
func binInode(base string) (uint64, bool) {
	s, ok := strings.CutSuffix(base, ".bin")
	if !ok {
		return 0, false
	}
	return inodeName(s)
}

// inodeName reads a socket directory's name: a canonical decimal inode.
func inodeName(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return n, true
}
