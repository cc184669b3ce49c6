package nodes

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// Table tests of the tree's pure decisions, without a mount.

func TestErrnoMapping(t *testing.T) {
	for _, c := range []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{image.ErrNoSocket, syscall.ENOENT},
		{&image.OpError{Op: "dump", Inode: 1, Err: image.ErrNoSocket}, syscall.ENOENT},
		{&image.OpError{Op: "dump", Inode: 1, Err: syscall.ESRCH}, syscall.ENOENT},
		{fmt.Errorf("pidfd_getfd: %w", syscall.EBADF), syscall.ENOENT},
		{&image.AttrError{Attr: "ipopt/ttl", Reason: "out of range"}, syscall.EINVAL},
		{fmt.Errorf("set: %w", syscall.EPERM), syscall.EPERM},
		{fmt.Errorf("bind: %w", syscall.EACCES), syscall.EACCES},
		{fmt.Errorf("join: %w", syscall.ENODEV), syscall.ENODEV},
		{fmt.Errorf("connect: %w", syscall.ENETUNREACH), syscall.ENETUNREACH},
		{fmt.Errorf("write: %w", syscall.EDQUOT), syscall.EDQUOT},
		{fmt.Errorf("write: %w", syscall.ENOSPC), syscall.ENOSPC},
		{fmt.Errorf("big: %w", syscall.EFBIG), syscall.EFBIG},
		{syscall.Errno(0), syscall.EIO},
		{errors.New("no errno at all"), syscall.EIO},
		// A refused value wins over the errno it was found with.
		{fmt.Errorf("%w: %w", &image.AttrError{Attr: "x", Reason: "y"}, syscall.ENETUNREACH), syscall.EINVAL},
	} {
		if got := errno(c.err); got != c.want {
			t.Errorf("errno(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestParseFilter(t *testing.T) {
	g := netip.MustParseAddr("239.1.2.3")
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	cur := image.Membership{Group: g, Ifindex: 2, Mode: image.ModeInclude, Sources: []netip.Addr{b}}
	const ifname = "eth0"
	for _, c := range []struct {
		text    string
		mode    uint32
		sources []netip.Addr
		set     bool
		bad     bool
	}{
		{text: "", mode: image.ModeInclude, sources: []netip.Addr{b}},
		{text: "\n  \n", mode: image.ModeInclude, sources: []netip.Addr{b}},
		// The file's own content writes back as the filter it names.
		{text: membershipText(cur, ifname), mode: image.ModeInclude, sources: []netip.Addr{b}, set: true},
		{text: "group 239.1.2.3\ninterface eth0\nifindex 2\n", mode: image.ModeInclude, sources: []netip.Addr{b}},
		{text: "mode exclude\n", mode: image.ModeExclude, set: true},
		{text: "mode include\nsources 10.0.0.2 10.0.0.1 10.0.0.2\n", mode: image.ModeInclude, sources: []netip.Addr{a, b}, set: true},
		{text: "sources 10.0.0.1\n", mode: image.ModeInclude, sources: []netip.Addr{a}, set: true},
		{text: "sources\n", mode: image.ModeInclude, set: true},
		{text: "mode exclude\nsources\n", mode: image.ModeExclude, set: true},
		{text: "mode include\nsources\n", bad: true},
		{text: "mode both\n", bad: true},
		{text: "mode\n", bad: true},
		{text: "group 239.1.2.4\n", bad: true},
		{text: "interface eth1\n", bad: true},
		{text: "ifindex 3\n", bad: true},
		{text: "sources 239.0.0.1\n", bad: true},
		{text: "sources 0.0.0.0\n", bad: true},
		{text: "sources 255.255.255.255\n", bad: true},
		{text: "sources ::1\n", bad: true},
		{text: "sources 10.0.0.300\n", bad: true},
		{text: "colour blue\n", bad: true},
		{text: "sources" + func() (s string) {
			for i := range image.MaxSources + 1 {
				s += fmt.Sprintf(" 10.0.%d.%d", i/250, i%250+1)
			}
			return s
		}() + "\n", bad: true},
	} {
		mode, sources, set, err := parseFilter(c.text, cur, ifname)
		if c.bad {
			if !errors.Is(err, syscall.EINVAL) {
				t.Errorf("parseFilter(%q): %v, want EINVAL", c.text, err)
			}
			continue
		}
		if err != nil || mode != c.mode || !slices.Equal(sources, c.sources) || set != c.set {
			t.Errorf("parseFilter(%q) = mode %d sources %v set %v err %v, want mode %d sources %v set %v", c.text, mode, sources, set, err, c.mode, c.sources, c.set)
		}
	}
}

func TestOpenFlags(t *testing.T) {
	tree := New(Config{})
	content := []byte("64\n")
	sum, other := contentSum(content), contentSum([]byte("9\n"))
	for _, c := range []struct {
		name          string
		wrote         time.Duration // how long ago the last change was; 0 for never
		sized, cached uint64
		want          uint32
		act           openAction
		counted       bool // counted as open through the page cache
	}{
		{"the kernel holds this content and its size", 0, sum, sum, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, openOnly, true},
		{"the kernel holds the size only", 0, sum, 0, fuse.FOPEN_NOFLUSH, storePage, true},
		{"the kernel holds the size and pages of another content", 0, sum, other, fuse.FOPEN_NOFLUSH, storePage, true},
		{"the kernel holds another size", 0, other, other, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, dropSize, false},
		{"the kernel holds no size", 0, 0, 0, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, dropSize, false},
		{"a change was just made", time.Millisecond, sum, sum, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, openOnly, false},
		{"a change was made a while ago", tree.writeQuiet - 50*time.Millisecond, sum, sum, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, openOnly, false},
		{"a change was made long ago", tree.writeQuiet + 50*time.Millisecond, sum, sum, fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH, openOnly, true},
	} {
		s := &sock{t: tree, ino: 7, born: time.Now()}
		if c.wrote != 0 {
			s.wrote = time.Now().Add(-c.wrote)
		}
		f := s.fileLocked("ipopt/ttl")
		f.sum, f.sized, f.cached = sum, c.sized, c.cached
		got, act := s.openFlags("ipopt/ttl", content)
		if got != c.want || act != c.act {
			t.Errorf("%s: flags %#x action %d, want %#x %d", c.name, got, act, c.want, c.act)
		}
		if counted := s.pageOpen.n == 1; counted != c.counted {
			t.Errorf("%s: %d open through the page cache", c.name, s.pageOpen.n)
		}
		// What the kernel will hold after this open: this content in its
		// page cache when it reads through it, nothing when it does not.
		if want := map[bool]uint64{true: sum, false: 0}[c.counted]; f.cached != want {
			t.Errorf("%s: cached %#x after the open, want %#x", c.name, f.cached, want)
		}
	}
}

func TestKernelCacheTimes(t *testing.T) {
	for _, configured := range []time.Duration{0, -time.Second, time.Nanosecond, time.Millisecond, 500 * time.Millisecond, time.Minute} {
		cache, quiet := kernelCacheTimes(configured)
		if configured <= 0 && cache != DefaultKernelCacheTimeout || configured > 0 && cache != configured {
			t.Errorf("%v: cache %v", configured, cache)
		}
		if quiet <= cache {
			t.Errorf("%v: direct I/O for %v after a change does not outlast the kernel's cache of %v", configured, quiet, cache)
		}
	}
	if _, quiet := kernelCacheTimes(0); quiet != time.Second {
		t.Errorf("the default kernel cache gives %v of direct I/O after a change, want 1s", quiet)
	}
	tree := New(Config{KernelCacheTimeout: 300 * time.Millisecond})
	if tree.KernelCacheTimeout() != 300*time.Millisecond || tree.writeQuiet != 600*time.Millisecond {
		t.Errorf("Config.KernelCacheTimeout 300ms: %v, %v", tree.KernelCacheTimeout(), tree.writeQuiet)
	}
}

func TestEntryTimeouts(t *testing.T) {
	tree := New(Config{KernelCacheTimeout: 300 * time.Millisecond})
	var out fuse.EntryOut
	tree.entry(&out, true)
	if out.EntryTimeout() != 300*time.Millisecond {
		t.Errorf("a cached entry: %v", out.EntryTimeout())
	}
	tree.entry(&out, false)
	if out.EntryValid != 0 || out.EntryValidNsec != 0 {
		t.Errorf("an entry the kernel must check at every walk: %d s %d ns", out.EntryValid, out.EntryValidNsec)
	}
}

func TestPageReadersWait(t *testing.T) {
	var p pageReaders
	if p.idle() != nil {
		t.Fatal("no reader, yet something to wait for")
	}
	p.open()
	p.open()
	idle := p.idle()
	if idle == nil || p.idle() != idle {
		t.Fatal("two readers: no one channel to wait on")
	}
	p.close()
	select {
	case <-idle:
		t.Fatal("idle with a reader left")
	default:
	}
	// The last close wakes a waiter at once, not at its deadline. (The
	// count is under sock.mu in the tree; mu stands in for it.)
	var mu sync.Mutex
	go func() {
		time.Sleep(time.Millisecond)
		mu.Lock()
		p.close()
		mu.Unlock()
	}()
	start := time.Now()
	waitIdle(idle, 10*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the wait took %v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if p.idle() != nil || p.n != 0 {
		t.Errorf("after the last close: %d readers", p.n)
	}
	// A reader that stays does not hold the change up past the deadline.
	p.open()
	start = time.Now()
	waitIdle(p.idle(), 20*time.Millisecond)
	if d := time.Since(start); d < 20*time.Millisecond || d > 2*time.Second {
		t.Errorf("waited %v for a reader that stays, want the 20ms deadline", d)
	}
	waitIdle(nil, time.Hour) // nothing to wait for: returns at once
}

func TestSameIDs(t *testing.T) {
	status := func(uids, gids string) []byte {
		return []byte("Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t" + uids + "\nGid:\t" + gids + "\nFDSize:\t64\n")
	}
	for _, c := range []struct {
		status []byte
		want   bool
	}{
		{status("1000\t1000\t1000\t1000", "100\t100\t100\t100"), true},
		// The filesystem ids do not count for ptrace.
		{status("1000\t1000\t1000\t0", "100\t100\t100\t0"), true},
		// A set-uid or set-gid process keeps the caller out.
		{status("1000\t0\t0\t0", "100\t100\t100\t100"), false},
		{status("1000\t1000\t0\t1000", "100\t100\t100\t100"), false},
		{status("0\t1000\t1000\t1000", "100\t100\t100\t100"), false},
		{status("1000\t1000\t1000\t1000", "100\t0\t100\t100"), false},
		{status("1001\t1001\t1001\t1001", "100\t100\t100\t100"), false},
		{status("1000", "100\t100\t100"), false},
		{[]byte("Name:\tx\nUid:\t1000\t1000\t1000\t1000\n"), false},
		{nil, false},
	} {
		if got := sameIDs(c.status, 1000, 100); got != c.want {
			t.Errorf("sameIDs(%q) = %v, want %v", c.status, got, c.want)
		}
	}
}
