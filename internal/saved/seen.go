package saved

import "github.com/inetcr/inetcr/netlinkio/image"

// seen is the set of a socket's files an archive has given, so that one
// given twice is refused. The files of the option table take a bit each,
// since an archive of the tree holds thousands of sockets of forty files.
type seen struct {
	bits  []uint64
	other map[string]bool
}

// rowBit numbers the files of the tree that every socket has: image.bin,
// info, then the option table's rows.
var rowBit = func() map[string]int {
	m := map[string]int{"image.bin": 0, "info": 1, "": 0}
	for i := range image.Options {
		m[image.Options[i].Path()] = i + 2
	}
	return m
}()

// add marks a file; false when it was there already.
func (s *seen) add(file string) bool {
	if i, ok := rowBit[file]; ok {
		if s.bits == nil {
			s.bits = make([]uint64, (len(image.Options)+2+63)/64)
		}
		if s.bits[i/64]&(1<<(i%64)) != 0 {
			return false
		}
		s.bits[i/64] |= 1 << (i % 64)
		return true
	}
	if s.other[file] {
		return false
	}
	if s.other == nil {
		s.other = map[string]bool{}
	}
	s.other[file] = true
	return true
}

func (s *seen) empty() bool { return s.bits == nil && s.other == nil }
