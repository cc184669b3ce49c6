package saved

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A source is read as a stream of members, whatever it is: a tar
// archive's, or a directory's files walked in order. Each is checked
// (name, type, size) before its content is read.

// member is one file of a source: its slash-separated path, cleaned of a
// leading "./", and its content.
type member struct {
	name string
	dir  bool
	data []byte
}

// refusal is why a source is refused: the member and the reason.
type refusal struct {
	source, member, reason string
}

func (r *refusal) Error() string {
	if r.member == "" {
		return r.source + ": " + r.reason
	}
	return r.source + ": " + r.member + ": " + r.reason
}

// Refused reports whether err is a refusal of a hostile or malformed
// source (as opposed to one that could not be read at all).
func Refused(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

// checkName refuses a member name that could reach outside the archive.
func checkName(name string) (string, string) {
	if strings.HasPrefix(name, "/") {
		return "", "absolute path"
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", "path with \"..\""
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", ""
	}
	return clean, ""
}

// limitFor is the largest a member of that name may be.
func limitFor(name string) int64 {
	switch base := path.Base(name); {
	case base == "image.bin" || strings.HasSuffix(base, ".bin"):
		return maxImage
	case base == "info":
		return maxInfo
	}
	return maxSmall
}

// readTar reads a tar archive, plain or gzip, and calls each for every
// member. A member that is not a directory or a regular file, a name with
// "..", a member past its limit, or a stream that ends early is refused.
func readTar(src string, r io.Reader, each func(member) error) error {
	br := bufio.NewReader(r)
	var gz *gzip.Reader
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		var err error
		if gz, err = gzip.NewReader(br); err != nil {
			return &refusal{source: src, reason: "gzip: " + err.Error()}
		}
		r = gz
	} else {
		r = br
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &refusal{source: src, reason: "not a whole tar archive: " + streamError(err)}
		}
		if err := tarMember(src, tr, h, each); err != nil {
			return err
		}
	}
	if gz != nil {
		// The tar's end comes before the gzip stream's: read the rest, so
		// that a stream cut short or corrupt is caught by its trailer.
		if _, err := io.Copy(io.Discard, gz); err != nil {
			return &refusal{source: src, reason: "gzip stream: " + streamError(err)}
		}
	}
	return nil
}

// streamError words an error of a stream that ended early.
func streamError(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated (unexpected end of data)"
	}
	return err.Error()
}

// tarMember checks one member of a tar archive and passes it on.
func tarMember(src string, tr *tar.Reader, h *tar.Header, each func(member) error) error {
	name, why := checkName(h.Name)
	if why != "" {
		return &refusal{source: src, member: h.Name, reason: why}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return each(member{name: name, dir: true})
	case tar.TypeReg, tar.TypeRegA:
	default:
		return &refusal{source: src, member: h.Name, reason: typeName(h.Typeflag) + " member: an archive of the tree holds only directories and regular files"}
	}
	if name == "" {
		return &refusal{source: src, member: h.Name, reason: "a file with no name"}
	}
	if limit := limitFor(name); h.Size > limit {
		return &refusal{source: src, member: h.Name, reason: fmt.Sprintf("huge member: %d bytes, no file of the tree is larger than %d", h.Size, limit)}
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return &refusal{source: src, member: h.Name, reason: "not a whole tar archive: " + streamError(err)}
	}
	return each(member{name: name, data: data})
}

// typeName words a tar member type.
func typeName(flag byte) string {
	switch flag {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "fifo"
	case tar.TypeGNUSparse:
		return "sparse file"
	}
	return fmt.Sprintf("type %q", flag)
}

// readDir walks a directory (a dump --all directory or an extracted
// tree) as an archive: links, devices, fifos and sockets are refused as
// they are in a tar, no link is followed, and no file is read past its
// limit.
func readDir(root string, each func(member) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := filepath.ToSlash(rel)
		switch t := d.Type(); {
		case t.IsDir():
			if name == "." {
				return nil
			}
			return each(member{name: name, dir: true})
		case t&fs.ModeSymlink != 0:
			return &refusal{source: root, member: name, reason: "symbolic link: a saved tree holds only directories and regular files"}
		case !t.IsRegular():
			return &refusal{source: root, member: name, reason: t.String() + " file: a saved tree holds only directories and regular files"}
		}
		data, err := readLimited(p, limitFor(name))
		if err != nil {
			return &refusal{source: root, member: name, reason: err.Error()}
		}
		return each(member{name: name, data: data})
	})
}

// readLimited reads a regular file without following a link, refusing one
// larger than limit.
func readLimited(p string, limit int64) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%v file: a saved tree holds only directories and regular files", st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("huge member: %d bytes, no file of the tree is larger than %d", st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("huge member: more than %d bytes", limit)
	}
	return data, nil
}
