package nodes_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// dumpsDuring counts the backend's dumps while fn runs.
func dumpsDuring(f *fake, fn func()) int {
	f.mu.Lock()
	before := f.dumps
	f.mu.Unlock()
	fn()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dumps - before
}

// TestOneDumpPerSocketRead checks that reading every file of a socket in a
// row costs one dump, not one per file, and that a file read again takes a
// new dump, so that it shows a change the owner made in between.
func TestOneDumpPerSocketRead(t *testing.T) {
	f, mnt := setup(t)
	dir := filepath.Join(mnt, "1001", "ipopt")
	names := netnstest.Names(t, dir) // looks every file up once
	if len(names) < 10 {
		t.Fatalf("ipopt: %v", names)
	}
	n := dumpsDuring(f, func() {
		for _, name := range names {
			if _, err := os.ReadFile(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	})
	// One dump, or a few on a machine so loaded that reading the files
	// takes longer than the dump cache lives; one per file is the bug.
	if n > len(names)/4 {
		t.Errorf("reading %d files of one socket made %d dumps, want one or a few", len(names), n)
	}
	ttl := filepath.Join(dir, "ttl")
	f.set(udp, func(img *image.Image) {
		o, _ := image.LookupOption("ipopt", "ttl")
		img.Values[o.Attr] = image.Value{Num: 99}
	})
	if got := netnstest.ReadFile(t, ttl); got != "99\n" {
		t.Errorf("ttl read again after the owner set 99: %q", got)
	}
	if n := dumpsDuring(f, func() { netnstest.ReadFile(t, ttl); netnstest.ReadFile(t, ttl) }); n < 2 {
		t.Errorf("two reads of one file made %d dumps, want a fresh one each", n)
	}
}

// TestReadsAfterOwnerChanges checks that a read never shows a value cut at,
// or padded to, the length of an earlier one, whatever the kernel kept of
// the file (size, page cache) from the reads before the owner's change.
func TestReadsAfterOwnerChanges(t *testing.T) {
	f, mnt := setup(t)
	ttl := filepath.Join(mnt, "1001", "ipopt", "ttl")
	o, _ := image.LookupOption("ipopt", "ttl")
	for _, v := range []uint64{64, 100, 100, 7, 7, 255, 1, 64} {
		f.set(udp, func(img *image.Image) { img.Values[o.Attr] = image.Value{Num: v} })
		want := image.Value{Num: v}
		for range 2 {
			got := netnstest.ReadFile(t, ttl)
			if got != o.Format(want)+"\n" {
				t.Fatalf("owner set %d: read %q", v, got)
			}
		}
	}
}
