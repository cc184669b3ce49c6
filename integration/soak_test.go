package integration

// The soak test: 8 readers running tar over the whole tree and 8 writers
// running echo, cp and touch/rm against 200 sockets, for 10 s (or for
// INETCR_SOAK, such as 60s), with the tree served in this process so that
// its descriptors, goroutines and memory can be counted. Run it under
// -race.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/splice"
	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// soakDuration is 10 s, or what INETCR_SOAK says.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("INETCR_SOAK")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("INETCR_SOAK=%q: %v", v, err)
	}
	return d
}

// rssKiB is this process's resident set size.
func rssKiB(t testing.TB) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// heapKiB is the Go heap in use after a collection.
func heapKiB() int {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int(m.HeapInuse >> 10)
}

// fdLinks lists where this process's descriptors point.
func fdLinks() []string {
	es, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range es {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"->"+l)
	}
	return out
}

// benignTar tells the warnings tar gives for a tree that changes while it
// reads (a value changed, a membership came or went) from real errors.
func benignTar(line string) bool {
	for _, s := range []string{
		"file changed as we read it", "File removed before we read it", "File shrank by",
		"Exiting with failure status due to previous errors",
	} {
		if strings.Contains(line, s) {
			return true
		}
	}
	// A membership file that a writer removed between readdir and stat.
	return strings.Contains(line, "/membership/") && strings.Contains(line, "No such file or directory")
}

// soakStats is what the soak counts.
type soakStats struct {
	tarRuns, tarCut, tarBytes, tarWarnings atomic.Int64
	ops                                    [4]atomic.Int64
	mu                                     sync.Mutex
	unexpected                             []string
}

func (s *soakStats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.unexpected) < 20 {
		s.unexpected = append(s.unexpected, fmt.Sprintf(format, args...))
	}
}

// reader runs tar -c over the whole tree until the deadline; a run still
// going then is killed, which interrupts its FUSE request in flight.
func (s *soakStats) reader(mnt string, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for ctx.Err() == nil {
		var out countWriter
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "tar", "-C", mnt, "-cf", "-", ".") // not /dev/null: GNU tar would skip reading
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		s.tarBytes.Add(out.n)
		if ctx.Err() != nil {
			s.tarCut.Add(1)
			return
		}
		s.tarRuns.Add(1)
		for line := range strings.Lines(stderr.String()) {
			if benignTar(line) {
				s.tarWarnings.Add(1)
			} else {
				s.fail("tar: %s", strings.TrimSpace(line))
			}
		}
		if err != nil && stderr.Len() == 0 {
			s.fail("tar: %v", err)
		}
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// writer changes its own sockets (no two writers share one, so every
// change must succeed) until the deadline: echo to option files, cp of one
// image.bin onto another, touch and rm of a membership.
func (s *soakStats) writer(w int, dirs []string, deadline time.Time) {
	for n := 0; time.Now().Before(deadline); n++ {
		d, e := dirs[n%len(dirs)], dirs[(n+1)%len(dirs)]
		var script string
		switch op := n % 4; op {
		case 0:
			script = fmt.Sprintf("echo %d > %s/ipopt/ttl", 1+(n*7+w)%255, d)
		case 1:
			script = fmt.Sprintf("cp %s/image.bin %s/image.bin", d, e)
		case 2:
			g := fmt.Sprintf("%s/membership/239.50.%d.%d@sk0", d, w, n%250+1)
			script = fmt.Sprintf("touch %s && cat %s >/dev/null && rm %s", g, g, g)
		case 3:
			script = fmt.Sprintf("echo %d > %s/ipopt/recvtos && echo %d > %s/sockopt/rcvbuf", n%2, d, 4096*(1+n%16), d)
		}
		s.ops[n%4].Add(1)
		if out, err := exec.Command("bash", "-c", script).CombinedOutput(); err != nil {
			s.fail("writer %d: %s: %v: %s", w, script, err, out)
		}
	}
}

func TestSoak(t *testing.T) {
	netnstest.Require(t, "tar", "cp", "touch", "rm", "bash")
	dur := soakDuration(t)
	netnstest.Veth(t, "sk0", "10.50.0.1/24")
	h := netnstest.NewHolder(t)
	inodes := h.Many(200, "127.0.0.1")
	logs := &countingHandler{}
	dir := t.TempDir()
	srv, err := inetcrfs.Mount(dir, inetcrfs.Options{Backend: stock.NewStock(), Logger: slog.New(logs), Netns: netnstest.NetnsIno(t, "/proc/self/ns/net")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Unmount() })

	// Warm up (one tar of the tree), then take the idle figures.
	if out, err := exec.Command("tar", "-C", dir, "-cf", "-", ".").CombinedOutput(); err != nil {
		t.Fatalf("warm-up tar: %v: %s", err, out[max(0, len(out)-500):])
	}
	// go-fuse keeps a pool of pipe pairs for splice; its idle pairs are a
	// cache, not a leak, so they are dropped before counting.
	idle := func() (int, int, int) {
		runtime.GC()
		splice.ClearSplicePool()
		return runtime.NumGoroutine(), fdCount(t), rssKiB(t)
	}
	g0, fd0, rss0 := idle()
	heap0 := heapKiB()
	links0 := fdLinks()

	stats := &soakStats{}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for r := 0; r < 8; r++ {
		wg.Go(func() { stats.reader(dir, deadline) })
	}
	for w := 0; w < 8; w++ {
		var dirs []string
		for i := w; i < len(inodes); i += 8 {
			dirs = append(dirs, filepath.Join(dir, strconv.FormatUint(inodes[i], 10)))
		}
		wg.Go(func() { stats.writer(w, dirs, deadline) })
	}
	// Sample while it runs: peak goroutines, descriptors and RSS, and the
	// RSS at each quarter of the run.
	var gPeak, fdPeak, rssPeak int
	var rssQuarters, heapQuarters []int
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
sample:
	for {
		select {
		case <-done:
			break sample
		case <-tick.C:
			gPeak, fdPeak, rssPeak = max(gPeak, runtime.NumGoroutine()), max(fdPeak, fdCount(t)), max(rssPeak, rssKiB(t))
			if q := int(4 * time.Since(start) / dur); q > len(rssQuarters) && q <= 4 {
				rssQuarters = append(rssQuarters, rssKiB(t))
				heapQuarters = append(heapQuarters, heapKiB())
			}
		}
	}
	tick.Stop()
	elapsed := time.Since(start)

	// Back to idle: goroutines (go-fuse keeps up to a few idle readers),
	// descriptors exactly.
	var g1, fd1, rss1 int
	for settle := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		g1, fd1, rss1 = idle()
		if g1 <= g0+3 && fd1 == fd0 || time.Now().After(settle) {
			break
		}
	}
	t.Logf("soak of %v (%v with the last runs), 200 sockets, 8 tar readers, 8 writers", dur, elapsed.Round(time.Millisecond))
	t.Logf("tar: %d whole runs, %d cut at the deadline, %d MiB archived, %d benign warnings (a file changed or went while read)", stats.tarRuns.Load(), stats.tarCut.Load(), stats.tarBytes.Load()>>20, stats.tarWarnings.Load())
	t.Logf("writers: %d echo ttl, %d cp image.bin, %d touch+cat+rm membership, %d echo recvtos+rcvbuf", stats.ops[0].Load(), stats.ops[1].Load(), stats.ops[2].Load(), stats.ops[3].Load())
	logs.mu.Lock()
	t.Logf("log records: %v", logs.counts)
	for msg, last := range logs.last {
		t.Errorf("unexpected %s record, the last:%s", msg, last)
	}
	logs.mu.Unlock()
	t.Logf("goroutines: %d idle, %d peak, %d after", g0, gPeak, g1)
	t.Logf("descriptors: %d idle, %d peak, %d after", fd0, fdPeak, fd1)
	t.Logf("RSS KiB: %d idle, %v at each quarter, %d peak, %d after", rss0, rssQuarters, rssPeak, rss1)
	t.Logf("Go heap in use KiB (after a GC): %d idle, %v at each quarter, %d after", heap0, heapQuarters, heapKiB())
	for _, u := range stats.unexpected {
		t.Errorf("unexpected: %s", u)
	}
	if fd1 != fd0 {
		t.Errorf("descriptors: %d idle before, %d after: before %v, after %v", fd0, fd1, links0, fdLinks())
	}
	if g1 > g0+3 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d idle before, %d after:\n%s", g0, g1, buf[:runtime.Stack(buf, true)])
	}
	// Stable: the Go heap after the run is within half again of its idle
	// size (plus 2 MiB of slack for small heaps), and so is the RSS a
	// quarter of the way in, once the caches are warm (not under -race,
	// whose shadow memory only grows).
	if heap1 := heapKiB(); heap1 > heap0*3/2+2048 {
		t.Errorf("Go heap grew from %d KiB idle to %d KiB after", heap0, heap1)
	}
	if !raceEnabled && len(rssQuarters) > 0 && rss1 > rssQuarters[0]*3/2 {
		t.Errorf("RSS grew from %d KiB a quarter in to %d KiB after", rssQuarters[0], rss1)
	}
	if stats.tarRuns.Load()+stats.tarCut.Load() < 8 {
		t.Errorf("only %d tar runs", stats.tarRuns.Load()+stats.tarCut.Load())
	}
}
