package image_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// Only ErrNoSocket reads as "no such socket"; a missing file says what it
// is. Both are ENOENT to errors.Is.
func TestNoSocketIsTyped(t *testing.T) {
	_, missing := os.Open("/proc/self/no/such/file")
	for _, c := range []struct {
		err  error
		want string
	}{
		{image.ErrNoSocket, "dump 7: no such socket"},
		{fmt.Errorf("holder exited: %w", image.ErrNoSocket), "dump 7: no such socket"},
		{missing, "dump 7: " + missing.Error()},
		{syscall.ENOENT, "dump 7: no such file or directory"},
	} {
		err := &image.OpError{Op: "dump", Inode: 7, Err: c.err}
		if err.Error() != c.want {
			t.Errorf("%v: %q, want %q", c.err, err.Error(), c.want)
		}
		if !errors.Is(err, syscall.ENOENT) {
			t.Errorf("%v: not ENOENT", c.err)
		}
	}
	if errors.Is(missing, image.ErrNoSocket) || errors.Is(syscall.ENOENT, image.ErrNoSocket) {
		t.Error("a plain ENOENT is ErrNoSocket")
	}
}
