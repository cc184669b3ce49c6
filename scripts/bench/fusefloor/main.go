// Command fusefloor serves a static copy of the tree's shape over go-fuse,
// with no backend behind it: N socket directories, each with image.bin,
// info, ipopt/ and sockopt/ holding one small file per row of the option
// table that applies to UDP, and an empty membership/. Timing tar over it
// against tar over a tmpfs copy shows what the FUSE round trips alone
// cost under a given kernel cache policy, which is the floor that any
// engine or tree change can reach (docs/performance.md). Run as root:
//
//	fusefloor -n 1000 [-timeout 0s] [-direct] [-keepcache] [-readdirplus] [-noopen] [-noflush] [-open-noflush] [-nosplice] MOUNTPOINT
//
// It serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio/image"
)

var (
	n           = flag.Int("n", 1000, "socket directories")
	timeout     = flag.Duration("timeout", 0, "entry and attribute timeout (the tree uses 0)")
	direct      = flag.Bool("direct", true, "open files with FOPEN_DIRECT_IO (the tree does)")
	keepCache   = flag.Bool("keepcache", false, "open files with FOPEN_KEEP_CACHE (with -direct=false)")
	readdirplus = flag.Bool("readdirplus", true, "let the kernel use READDIRPLUS (go-fuse's default, the tree's)")
	noOpen      = flag.Bool("noopen", false, "answer OPEN with ENOSYS, so the kernel stops sending OPEN and RELEASE")
	noFlush     = flag.Bool("noflush", false, "answer FLUSH with ENOSYS, so the kernel stops sending FLUSH (for every file of the mount)")
	openNoFlush = flag.Bool("open-noflush", false, "open files with FOPEN_NOFLUSH, so their close sends no FLUSH")
	noSplice    = flag.Bool("nosplice", false, "MountOptions.DisableSplice: no splice pipe pool")
)

type file struct {
	fs.Inode
	data []byte
}

var (
	_ = (fs.NodeOpener)((*file)(nil))
	_ = (fs.NodeReader)((*file)(nil))
	_ = (fs.NodeGetattrer)((*file)(nil))
	_ = (fs.NodeFlusher)((*file)(nil))
)

func (f *file) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if *noOpen {
		return nil, 0, syscall.ENOSYS
	}
	var fl uint32
	if *direct {
		fl |= fuse.FOPEN_DIRECT_IO
	}
	if *keepCache {
		fl |= fuse.FOPEN_KEEP_CACHE
	}
	if *openNoFlush {
		fl |= fuse.FOPEN_NOFLUSH
	}
	return nil, fl, 0
}

func (f *file) Read(ctx context.Context, h fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(f.data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(f.data[off:min(int64(len(f.data)), off+int64(len(dest)))]), 0
}

func (f *file) Getattr(ctx context.Context, h fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o644
	out.Size = uint64(len(f.data))
	out.SetTimeout(*timeout)
	return 0
}

func (f *file) Flush(ctx context.Context, h fs.FileHandle) syscall.Errno {
	if *noFlush {
		return syscall.ENOSYS
	}
	return 0
}

type dir struct{ fs.Inode }

func (d *dir) Getattr(ctx context.Context, h fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o755
	out.SetTimeout(*timeout)
	return 0
}

type root struct{ dir }

func (r *root) OnAdd(ctx context.Context) {
	ino := uint64(2)
	next := func() uint64 { ino++; return ino }
	mkdir := func(parent *fs.Inode, name string) *fs.Inode {
		ch := parent.NewPersistentInode(ctx, &dir{}, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: next()})
		parent.AddChild(name, ch, false)
		return ch
	}
	mkfile := func(parent *fs.Inode, name, content string) {
		ch := parent.NewPersistentInode(ctx, &file{data: []byte(content)}, fs.StableAttr{Mode: syscall.S_IFREG, Ino: next()})
		parent.AddChild(name, ch, false)
	}
	opts := image.OptionsFor(syscall.AF_INET, syscall.SOCK_DGRAM)
	image := string(make([]byte, 276)) // the size of a fresh UDP socket's image
	for i := range *n {
		s := mkdir(&r.Inode, fmt.Sprint(100000+i))
		mkfile(s, "image.bin", image)
		mkfile(s, "info", "protocol udp\nstate close\nlocal 127.0.1.1:40000\npeer 0.0.0.0:0\nuid 0\nholder 1234 3 python3\n")
		mkdir(s, "membership")
		ip, so := mkdir(s, "ipopt"), mkdir(s, "sockopt")
		for _, o := range opts {
			if o.Dir == "ipopt" {
				mkfile(ip, o.Name, "64\n")
			} else {
				mkfile(so, o.Name, "212992\n")
			}
		}
	}
}

func main() {
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: fusefloor [flags] MOUNTPOINT")
	}
	t := *timeout
	srv, err := fs.Mount(flag.Arg(0), &root{}, &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName: "fusefloor", Name: "fusefloor", DirectMount: true,
			DisableReadDirPlus: !*readdirplus,
			DisableSplice:      *noSplice,
		},
		EntryTimeout: &t, AttrTimeout: &t, NegativeTimeout: &t,
	})
	if err != nil {
		log.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sigs; srv.Unmount() }()
	srv.Wait()
}
