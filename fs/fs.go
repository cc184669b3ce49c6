// Package fs mounts the /inetcr tree (package nodes) with go-fuse: mount
// options, caching policy, stale mounts, signals and a clean unmount.
//
// The tree's content changes under it (the sockets' owners change options,
// sockets come and go), so the kernel caches little, and briefly: entries
// and attributes for KernelCacheTimeout, far below the second within which
// a closed socket must be gone, and no negative entries (a name a process
// unlinked comes back when it creates it). Every open of a file reaches
// the tree, which decides whether the kernel may serve the reads from its
// page cache (only when it holds that very content) and drops what the
// kernel holds of a socket whenever a change is made through the tree
// (package nodes). Permissions are the kernel's to check
// (default_permissions) against the modes and owners the tree reports.
package fs

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/nodes"
	"golang.org/x/sys/unix"
)

// Options configure a mount.
type Options struct {
	// AllowOther lets users other than the mounting one use the tree (FUSE
	// allow_other; a non-root user needs user_allow_other in
	// /etc/fuse.conf).
	AllowOther bool
	// Backend dumps and restores the sockets; nil means netlinkio.Open("auto").
	Backend netlinkio.Backend
	// Debug logs every FUSE request.
	Debug bool
	// Netns limits the tree to the sockets of one network namespace (its
	// inode, netlinkio.NetnsFilter); 0 shows every namespace.
	Netns uint64
	// Logger records every change made through the tree and every refusal
	// (docs/security.md); nil means structured text on stderr.
	Logger *slog.Logger
	// Prune bounds the sockets whose directories and files the kernel and
	// the mount keep (nodes.Tree.Prune); a field left zero takes
	// DefaultPrune's.
	Prune Prune
	// ReadOnly mounts the tree read-only (MS_RDONLY; "ro" through
	// fusermount3): the kernel refuses every write, create, unlink,
	// setattr and link with EROFS before a request reaches the tree.
	ReadOnly bool
	// Ready, if set, is called once the mounted tree has answered a
	// statfs, so that whoever waits for the mount (mount(8), systemd) is
	// told only when it works. Stopping, if set, is called once when the
	// mount goes away cleanly: unmounted, or on SIGINT or SIGTERM.
	Ready, Stopping func()
	// WriteBudgetPerUID and WriteBudgetTotal bound the bytes that the
	// write buffers of open image.bin and membership files hold, per
	// opener's uid and in all (nodes.Config; 0 takes the defaults, 4 MiB
	// and 64 MiB, a negative value means no limit).
	WriteBudgetPerUID, WriteBudgetTotal int
}

// Prune says how the mount bounds what it keeps of the sockets the kernel
// looked up (nodes.Tree.Prune): every Every, the directories of sockets
// not used for Idle are dropped, least recently used first, while more
// than Keep are kept; and, used or not, while more than Max are kept (a
// negative Max: no such bound).
type Prune struct {
	Keep  int
	Idle  time.Duration
	Max   int
	Every time.Duration
}

// DefaultPrune keeps at most 2,048 sockets' files in the kernel beyond
// those used in the last two minutes, and never more than 4,096: some
// 27 KB of live heap per socket whose every file was looked up (a heap
// profile after a tar; docs/performance.md), so at most about 110 MB. A
// tar of up to 4,096 sockets, or one run again within two minutes over up
// to 2,048, finds them all still cached; a tar of a bigger tree lets go of
// what it read, least recently used first, as it goes (checked every
// second: a tar takes in about 150 sockets a second here).
var DefaultPrune = Prune{Keep: 2048, Idle: 2 * time.Minute, Max: 4096, Every: time.Second}

// DefaultMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// that Run sets unless GOMEMLIMIT does: the garbage collector works harder
// as the heap nears it, instead of letting it grow to twice what is live
// (GOGC=100). With DefaultPrune, what is live at 100,000 sockets during a
// tar stays well below it.
const DefaultMemoryLimit = 384 << 20

// KernelCacheTimeout is how long the kernel may keep the tree's entries
// and attributes. A tar of a socket's forty files reads them within a few
// milliseconds, so each is looked up once; a socket that closes is gone
// from a path walk within this time, and a value its owner changes shows
// in a stat within it (a read sees it at once: every open asks the tree).
const KernelCacheTimeout = 500 * time.Millisecond

// Mount mounts the tree on mountpoint and serves it in the background. As
// root it mounts with mount(2) itself; as another user through fusermount3.
// A stale mount left at mountpoint by a process that was killed (statfs
// fails with ENOTCONN) is unmounted first. Stop serving with
// Server.Unmount.
func Mount(mountpoint string, opts Options) (*fuse.Server, error) {
	srv, _, err := mount(mountpoint, opts)
	return srv, err
}

// mount is Mount that also returns the tree. Once the mount is gone, the
// tree's pending leaves are carried out (nodes.Tree.Close).
func mount(mountpoint string, opts Options) (*fuse.Server, *nodes.Tree, error) {
	mp, err := filepath.Abs(mountpoint)
	if err != nil {
		return nil, nil, err
	}
	if err := clearStale(mp); err != nil {
		return nil, nil, err
	}
	fi, err := os.Stat(mp)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s: not a directory", mp)
	}
	b := opts.Backend
	if b == nil {
		if b, err = netlinkio.Open("auto"); err != nil {
			return nil, nil, err
		}
	}
	sl := opts.Logger
	if sl == nil {
		sl = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// go-fuse logs through a log.Logger; its lines go to the same handler.
	logger := slog.NewLogLogger(sl.Handler(), slog.LevelInfo)
	tree := nodes.New(nodes.Config{Backend: b, Logger: sl, KernelCacheTimeout: KernelCacheTimeout, WriteBudgetPerUID: opts.WriteBudgetPerUID, WriteBudgetTotal: opts.WriteBudgetTotal, Netns: opts.Netns})
	// The tree gives every entry its timeout itself: none for the entries
	// that the kernel must check at every path walk (membership files, a
	// socket not known to be listed), which go-fuse would replace with an
	// EntryTimeout of its own. Files' attributes are kept for as long as
	// the tree was told, which its direct I/O after a change outlasts.
	zero, cache := time.Duration(0), tree.KernelCacheTimeout()
	root := os.Geteuid() == 0
	fuseOpts := []string{"default_permissions"}
	var flags uintptr // go-fuse's default for a direct mount: nosuid, nodev
	if opts.ReadOnly {
		// The kernel, not the tree, refuses writes: nothing reaches a
		// node, so no node has to know.
		flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_RDONLY
		if !root {
			fuseOpts = append(fuseOpts, "ro") // fusermount3 turns it into MS_RDONLY
		}
	}
	fo := &gofs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther:       opts.AllowOther,
			FsName:           "inetcr",
			Name:             "inetcr",
			Options:          fuseOpts,
			DirectMount:      root,
			DirectMountFlags: flags,
			Debug:            opts.Debug,
			Logger:           logger,
			// The tree's reads are a few bytes to a few hundred: splicing
			// buys nothing, and its pipes would stay open for the life of
			// the mount.
			DisableSplice: true,
		},
		AttrTimeout:     &cache,
		NegativeTimeout: &zero,
		// The nodes set every mode themselves.
		NullPermissions: true,
		RootStableAttr:  &gofs.StableAttr{Ino: 1},
		Logger:          logger,
	}
	if !opts.Debug {
		fo.MountOptions.Logger = log.New(io.Discard, "", 0)
	}
	fo.MountOptions.DirectMountStrict = root
	srv, err := serve(mp, interruptible{gofs.NewNodeFS(tree.Root(), fo)}, &fo.MountOptions)
	if err != nil {
		return nil, nil, &MountError{Mountpoint: mp, Err: err}
	}
	go prune(srv, tree, opts.Prune)
	return srv, tree, nil
}

// MountError is a failed mount(2) (or fusermount3): "mount MOUNTPOINT:
// why". It names the mount point already, so a caller need not.
type MountError struct {
	Mountpoint string
	Err        error
}

func (e *MountError) Error() string { return "mount " + e.Mountpoint + ": " + e.Err.Error() }

func (e *MountError) Unwrap() error { return e.Err }

// prune runs tree.Prune until the mount is gone.
func prune(srv *fuse.Server, tree *nodes.Tree, p Prune) {
	// A field left zero takes its default (a zero period would make the
	// ticker panic).
	if p.Keep == 0 {
		p.Keep = DefaultPrune.Keep
	}
	if p.Idle == 0 {
		p.Idle = DefaultPrune.Idle
	}
	if p.Max == 0 {
		p.Max = DefaultPrune.Max
	}
	if p.Every <= 0 {
		p.Every = DefaultPrune.Every
	}
	done := make(chan struct{})
	go func() {
		srv.Wait()
		close(done)
	}()
	tick := time.NewTicker(p.Every)
	defer tick.Stop()
	for {
		select {
		case <-done:
			tree.Close()
			return
		case <-tick.C:
			tree.Prune(p.Keep, p.Max, p.Idle)
		}
	}
}

// Run mounts the tree and serves it until it is unmounted (umount,
// fusermount3 -u) or the process gets SIGINT or SIGTERM, which unmount it
// cleanly; either way it returns nil once the mount is gone.
func Run(mountpoint string, opts Options) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	srv, tree, err := mount(mountpoint, opts)
	if err != nil {
		return err
	}
	if err := answers(mountpoint); err != nil {
		srv.Unmount()
		tree.Close()
		return err
	}
	if opts.Ready != nil {
		opts.Ready()
	}
	stopping := func() {
		if opts.Stopping != nil {
			opts.Stopping()
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	if path := os.Getenv(HeapProfileEnv); path != "" {
		stop := heapProfiles(path)
		defer stop()
	}
	// The groups that were removed are left before Run returns.
	defer tree.Close()
	done := make(chan struct{})
	go func() {
		srv.Wait()
		close(done)
	}()
	select {
	case <-done:
		stopping()
		return nil
	case <-sigs:
	}
	stopping()
	return unmount(srv, mountpoint, done, sigs)
}

// fuseSuperMagic is what statfs reports for a FUSE mount (FUSE_SUPER_MAGIC).
const fuseSuperMagic = 0x65735546

// answers checks that the tree mounted at mountpoint answers: a statfs
// goes to the server (the kernel caches none), and its f_type says it was
// the mount that answered, not the directory beneath it.
func answers(mountpoint string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(mountpoint, &st); err != nil {
		return &MountError{Mountpoint: mountpoint, Err: fmt.Errorf("the mounted tree does not answer: %w", err)}
	}
	if st.Type != fuseSuperMagic {
		return &MountError{Mountpoint: mountpoint, Err: fmt.Errorf("the mounted tree does not answer: statfs shows file system type %#x, not FUSE", st.Type)}
	}
	return nil
}

// unmount stops serving: a plain unmount, retried while the mount is busy;
// a lazy one if it stays busy or a second signal comes.
func unmount(srv *fuse.Server, mountpoint string, done <-chan struct{}, sigs <-chan os.Signal) error {
	mp, _ := filepath.Abs(mountpoint)
	result := make(chan error, 1)
	go func() { result <- srv.Unmount() }()
	select {
	case err := <-result:
		if err == nil {
			<-done
			return nil
		}
	case <-sigs:
	case <-time.After(5 * time.Second):
	}
	// Busy (a shell's cwd is in the tree, say): detach it; the kernel ends
	// the connection when the last user lets go, and so does our exit.
	if err := lazyUnmount(mp); err != nil {
		return fmt.Errorf("unmount %s: %w", mp, err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return nil
}

// clearStale unmounts what a killed server left at mp: a FUSE mount whose
// server is gone answers with ENOTCONN (ECONNABORTED once aborted through
// /sys/fs/fuse/connections). It asks with statfs, which the kernel always
// sends to the server: a stat may be answered from attributes the kernel
// still holds for up to KernelCacheTimeout after the server died.
func clearStale(mp string) error {
	var st unix.Statfs_t
	err := unix.Statfs(mp, &st)
	if !errors.Is(err, unix.ENOTCONN) && !errors.Is(err, unix.ECONNABORTED) {
		return nil
	}
	if err := lazyUnmount(mp); err != nil {
		return fmt.Errorf("%s: stale mount of a dead server, and it cannot be unmounted: %w", mp, err)
	}
	return nil
}

// lazyUnmount detaches the mount at mp: umount2(MNT_DETACH) as root,
// fusermount3 -uz otherwise.
func lazyUnmount(mp string) error {
	if os.Geteuid() == 0 {
		err := unix.Unmount(mp, unix.MNT_DETACH)
		if err == nil || errors.Is(err, unix.EINVAL) { // EINVAL: not a mount point (any more)
			return nil
		}
		return err
	}
	var last error
	for _, tool := range []string{"fusermount3", "fusermount"} {
		out, err := exec.Command(tool, "-u", "-z", mp).CombinedOutput()
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%s -uz: %v: %s", tool, err, out)
	}
	return last
}

// serve mounts raw at mp and serves it. go-fuse's direct mount opens
// /dev/fuse without O_CLOEXEC and never sets it, so every program the
// process starts afterwards (a test's holders; anything a future version
// runs) would get the connection, and a child that outlives the server
// keeps a dead mount alive and its callers hanging. So the flag is set
// here, with syscall.ForkLock held for reading from the open on, which
// keeps forks out of the window. The lock is only taken for a direct
// mount (DirectMountStrict): fusermount3 forks itself, and its descriptor
// gets the flag from go-fuse.
func serve(mp string, raw fuse.RawFileSystem, mo *fuse.MountOptions) (*fuse.Server, error) {
	if mo.DirectMountStrict {
		syscall.ForkLock.RLock()
	}
	srv, err := fuse.NewServer(raw, mp, mo)
	if mo.DirectMountStrict {
		closeFuseOnExec()
		syscall.ForkLock.RUnlock()
	}
	if err != nil {
		return nil, err
	}
	go srv.Serve()
	// WaitMount opens a file of the new mount: a signal may interrupt
	// that open (EINTR), and it can be asked again.
	for try := 0; ; try++ {
		err := srv.WaitMount()
		if err == nil {
			return srv, nil
		}
		if !errors.Is(err, syscall.EINTR) || try == 10 {
			srv.Unmount()
			return nil, err
		}
	}
}

// closeFuseOnExec sets FD_CLOEXEC on every /dev/fuse descriptor of the
// process: the one a direct mount just opened among them, and no other
// mount's descriptor may go to a child either.
func closeFuseOnExec() {
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, e := range fds {
		if to, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && to == "/dev/fuse" {
			if fd, err := strconv.Atoi(e.Name()); err == nil {
				syscall.CloseOnExec(fd)
			}
		}
	}
}
