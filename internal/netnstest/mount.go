package netnstest

import (
	"testing"

	inetcrfs "github.com/inetcr/inetcr/fs"
)

// MountTree mounts the tree at dir with opts and, when the test ends,
// unmounts it and checks that no mount is left at dir.
func MountTree(t testing.TB, dir string, opts inetcrfs.Options) {
	t.Helper()
	srv, err := inetcrfs.Mount(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		if Mounted(t, dir) {
			t.Errorf("%s is still mounted", dir)
		}
	})
}
