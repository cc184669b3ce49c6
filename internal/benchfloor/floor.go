// Package benchfloor is the floor that `inetcr dump --all` is measured
// against (docs/performance.md): the least work that any stock-kernel dump
// of every socket has to do, and nothing else.
//
// Run lists the AF_INET and AF_INET6 sockets with one sock_diag dump per
// family and protocol (as the engine does), finds every holder with one walk of /proc/*/fd, opens
// one pidfd per holder process, and for each socket: pidfd_getfd, the same
// socket calls as the engine's dump (SO_DOMAIN, SO_TYPE, SO_PROTOCOL,
// getsockname, getpeername, one getsockopt per row of the option table
// that applies to the socket's family and type, TCP_INFO for TCP, one
// MCAST_MSFILTER probe per candidate group of the holder's
// /proc/<pid>/net/igmp and, for an AF_INET6 socket, igmp6, each read once
// per holder), and close. It builds no image, encodes nothing and writes
// nothing; buffers are reused, so it allocates next to nothing per socket.
package benchfloor

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// Stats is what one Run did.
type Stats struct {
	Listed int   // sockets in the sock_diag listing
	Held   int   // of those, held by some process (found in the /proc walk)
	Dumped int   // duplicated and read
	Gone   int   // closed between the listing and the duplication
	Calls  int64 // socket calls made on the duplicates (getsockopt, getsockname, getpeername)

	List, Walk, Dump time.Duration // time spent listing, walking /proc, dumping
}

// DefaultWorkers is what `inetcr dump --all` uses by default: 2 per CPU.
func DefaultWorkers() int { return 2 * runtime.NumCPU() }

// Run dumps every socket's state into nothing, with workers goroutines
// (for the /proc walk and for the dumps).
func Run(workers int) (Stats, error) {
	workers = max(workers, 1)
	var st Stats
	t0 := time.Now()
	socks, err := list()
	if err != nil {
		return st, err
	}
	st.List = time.Since(t0)
	st.Listed = len(socks)
	want := make(map[uint32]int, len(socks)) // inode -> index in socks
	for i, s := range socks {
		want[s.inode] = i
	}
	t0 = time.Now()
	holders, err := walkProc(want, workers)
	if err != nil {
		return st, err
	}
	st.Walk = time.Since(t0)
	t0 = time.Now()

	// One pidfd and one igmp read per holder process.
	procs := map[int32]*proc{}
	var jobs []job
	for i, s := range socks {
		r, ok := holders[s.inode]
		if !ok {
			continue
		}
		p := procs[r.pid]
		if p == nil {
			p = &proc{pidfd: -1}
			procs[r.pid] = p
			if fd, err := unix.PidfdOpen(int(r.pid), 0); err == nil {
				p.pidfd = fd
			}
			p.groups = igmpGroups(int(r.pid))
			p.groups6 = igmp6Groups(int(r.pid))
		}
		jobs = append(jobs, job{sock: i, fd: r.fd, p: p})
	}
	defer func() {
		for _, p := range procs {
			if p.pidfd >= 0 {
				unix.Close(p.pidfd)
			}
		}
	}()
	st.Held = len(jobs)

	var next atomic.Int64
	var dumped, gone, calls atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					break
				}
				j := jobs[i]
				ok, err := w.dump(j)
				switch {
				case err != nil:
					errOnce.Do(func() { firstErr = fmt.Errorf("socket %d: %w", socks[j.sock].inode, err) })
				case ok:
					dumped.Add(1)
				default:
					gone.Add(1)
				}
			}
			calls.Add(w.calls)
		}()
	}
	wg.Wait()
	st.Dumped, st.Gone, st.Calls = int(dumped.Load()), int(gone.Load()), calls.Load()
	st.Dump = time.Since(t0)
	return st, firstErr
}

type proc struct {
	pidfd   int
	groups  []group // candidate (ifindex, group) pairs of /proc/<pid>/net/igmp
	groups6 []group // and of igmp6
}

type group struct {
	ifindex uint32
	v6      bool
	addr    [16]byte // the first 4 bytes for IPv4
}

type job struct {
	sock int
	fd   int32
	p    *proc
}

// worker holds the buffers one goroutine reuses for every socket.
type worker struct {
	buf     []byte // getsockopt values, addresses, TCP_INFO
	msf     []byte // struct group_filter with room for 64 sources
	calls   int64
	options map[[2]int][]*image.Option // by socket family and type
}

func newWorker() *worker {
	return &worker{buf: make([]byte, 512), msf: make([]byte, slistOffset+maxProbeSrcs*ssSize), options: map[[2]int][]*image.Option{}}
}

// dump duplicates one socket and makes the engine's socket calls on it. It
// reports false when the socket or its holder went away.
func (w *worker) dump(j job) (bool, error) {
	if j.p.pidfd < 0 {
		return false, nil
	}
	fd, err := unix.PidfdGetfd(j.p.pidfd, int(j.fd), 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EBADF) {
			return false, nil
		}
		return false, fmt.Errorf("pidfd_getfd: %w", err)
	}
	defer unix.Close(fd)
	family, err := w.getInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return false, err
	}
	typ, err := w.getInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return false, err
	}
	if _, err := w.getInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil {
		return false, err
	}
	if err := w.name(fd, unix.SYS_GETSOCKNAME); err != nil {
		return false, err
	}
	if err := w.name(fd, unix.SYS_GETPEERNAME); err != nil && err != unix.ENOTCONN {
		return false, err
	}
	if typ == unix.SOCK_STREAM {
		if err := w.get(fd, unix.IPPROTO_TCP, unix.TCP_INFO, 232); err != nil {
			return false, err
		}
	}
	opts, ok := w.options[[2]int{family, typ}]
	if !ok {
		opts = image.OptionsFor(uint16(family), uint16(typ))
		w.options[[2]int{family, typ}] = opts
	}
	for _, o := range opts {
		if err := w.get(fd, o.Level, o.Opt, valueSize(o.Kind)); err != nil {
			return false, fmt.Errorf("getsockopt %s: %w", o.AttrName(), err)
		}
	}
	v4, v6 := image.GroupFamilies(uint16(family), uint16(typ))
	for _, c := range []struct {
		on     bool
		groups []group
	}{{v4, j.p.groups}, {v6, j.p.groups6}} {
		if !c.on {
			continue
		}
		for _, g := range c.groups {
			if err := w.probe(fd, g); err != nil {
				return false, fmt.Errorf("MCAST_MSFILTER: %w", err)
			}
		}
	}
	return true, nil
}

// valueSize is the getsockopt argument size of an option kind, as the
// engine passes it.
func valueSize(k image.Kind) int {
	switch k {
	case image.Micros:
		return 16 // struct timeval
	case image.Linger:
		return 8
	case image.IfName:
		return 256 // what unix.GetsockoptString asks for
	case image.InAddr:
		return 4
	case image.RawOptions:
		return 40
	case image.U64, image.Timestamping, image.TxTime:
		return 8
	case image.Name:
		return 16
	case image.Filter:
		return 0 // SO_GET_FILTER's count of instructions
	}
	return 4
}

func (w *worker) get(fd, level, opt, size int) error {
	n := uint32(size)
	w.calls++
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&w.buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return e
	}
	return nil
}

func (w *worker) getInt(fd, level, opt int) (int, error) {
	if err := w.get(fd, level, opt, 4); err != nil {
		return 0, err
	}
	return int(int32(binary.NativeEndian.Uint32(w.buf))), nil
}

// name is getsockname or getpeername into the worker's buffer.
func (w *worker) name(fd int, call uintptr) error {
	n := uint32(128)
	w.calls++
	_, _, e := unix.RawSyscall(call, uintptr(fd), uintptr(unsafe.Pointer(&w.buf[0])), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return e
	}
	return nil
}

// Layout of struct group_filter, as netlinkio/igmp.go lays it out.
const (
	ssSize        = 128
	ptrSize       = int(unsafe.Sizeof(uintptr(0)))
	groupOffset   = (4 + ptrSize - 1) / ptrSize * ptrSize
	fmodeOffset   = groupOffset + ssSize
	slistOffset   = (fmodeOffset + 8 + ptrSize - 1) / ptrSize * ptrSize
	mcastMSFilter = 48
	maxProbeSrcs  = 64
)

// probe is the engine's membership probe: MCAST_MSFILTER for one candidate
// group, which fails with EADDRNOTAVAIL unless the socket joined it.
func (w *worker) probe(fd int, g group) error {
	b := w.msf
	clear(b[:slistOffset])
	binary.NativeEndian.PutUint32(b, g.ifindex)
	level := unix.IPPROTO_IP
	if g.v6 {
		level = unix.IPPROTO_IPV6
		binary.NativeEndian.PutUint16(b[groupOffset:], unix.AF_INET6)
		copy(b[groupOffset+8:], g.addr[:])
	} else {
		binary.NativeEndian.PutUint16(b[groupOffset:], unix.AF_INET)
		copy(b[groupOffset+4:], g.addr[:4])
	}
	binary.NativeEndian.PutUint32(b[fmodeOffset+4:], maxProbeSrcs)
	n := uint32(len(b))
	w.calls++
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), mcastMSFilter,
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 && e != unix.EADDRNOTAVAIL && e != unix.ENODEV {
		return e
	}
	return nil
}

// igmpGroups reads /proc/<pid>/net/igmp: a line per interface ("IDX
// NAME ...") followed by tab-indented lines whose first field is a group,
// the __be32 printed as host-order hex.
func igmpGroups(pid int) []group {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/igmp")
	if err != nil {
		return nil
	}
	var out []group
	ifindex := int64(-1)
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[min(1, len(lines)):] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			ifindex, err = strconv.ParseInt(f[0], 10, 32)
			if err != nil {
				ifindex = -1
			}
			continue
		}
		g, err := strconv.ParseUint(f[0], 16, 32)
		if err != nil || ifindex < 0 {
			continue
		}
		var a [16]byte
		binary.NativeEndian.PutUint32(a[:], uint32(g))
		out = append(out, group{ifindex: uint32(ifindex), addr: a})
	}
	return out
}

// igmp6Groups reads /proc/<pid>/net/igmp6: "IDX NAME GROUP ...", the group
// as 32 hex digits.
func igmp6Groups(pid int) []group {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/igmp6")
	if err != nil {
		return nil
	}
	var out []group
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || len(f[2]) != 32 {
			continue
		}
		ifindex, err1 := strconv.ParseUint(f[0], 10, 32)
		a, err2 := hex.DecodeString(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, group{ifindex: uint32(ifindex), v6: true, addr: [16]byte(a)})
	}
	return out
}

// sock is one entry of the listing.
type sock struct {
	inode uint32
	typ   uint16
}

// list asks NETLINK_SOCK_DIAG for the AF_INET and AF_INET6 sockets of
// every protocol the engine lists, all states. A protocol whose diag
// module the kernel lacks (raw_diag, UDP-Lite) is skipped.
func list() ([]sock, error) {
	var out []sock
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := listFamily(family)
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	slices.SortFunc(out, func(a, b sock) int { return int(a.inode) - int(b.inode) })
	return out, nil
}

// listFamily lists the sockets of one family.
func listFamily(family uint8) ([]sock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 64<<10)
	var out []sock
	for seq, p := range []struct {
		proto uint8
		typ   uint16
	}{
		{unix.IPPROTO_UDP, unix.SOCK_DGRAM},
		{unix.IPPROTO_UDPLITE, unix.SOCK_DGRAM},
		{unix.IPPROTO_TCP, unix.SOCK_STREAM},
		{unix.IPPROTO_RAW, unix.SOCK_RAW},
	} {
		req := make([]byte, unix.NLMSG_HDRLEN+56)
		binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
		binary.NativeEndian.PutUint16(req[4:], 20) // SOCK_DIAG_BY_FAMILY
		binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		binary.NativeEndian.PutUint32(req[8:], uint32(seq+1))
		r := req[unix.NLMSG_HDRLEN:]
		r[0], r[1] = family, p.proto
		if p.proto == unix.IPPROTO_RAW {
			r[3] = unix.IPPROTO_RAW // sdiag_raw_protocol: every raw socket
		}
		binary.NativeEndian.PutUint32(r[4:], 0xffffffff)
		if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, err
		}
		socks, err := receive(fd, buf, uint32(seq+1), family, p.typ)
		if errors.Is(err, unix.ENOENT) && (p.proto == unix.IPPROTO_RAW || p.proto == unix.IPPROTO_UDPLITE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	slices.SortFunc(out, func(a, b sock) int { return int(a.inode) - int(b.inode) })
	return out, nil
}

// receive reads one dump's answer.
func receive(fd int, buf []byte, seq uint32, family uint8, typ uint16) ([]sock, error) {
	var out []sock
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		b := buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := binary.NativeEndian.Uint32(b)
			t := binary.NativeEndian.Uint16(b[4:])
			s := binary.NativeEndian.Uint32(b[8:])
			if l < unix.NLMSG_HDRLEN || int(l) > len(b) {
				return nil, errors.New("sock_diag: malformed message")
			}
			msg := b[unix.NLMSG_HDRLEN:l]
			b = b[min(len(b), int((l+3)&^3)):]
			if s != seq {
				continue
			}
			switch t {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(msg) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(msg)); e < 0 {
						return nil, unix.Errno(-e)
					}
				}
				return out, nil
			}
			if len(msg) >= 72 && msg[0] == family {
				if ino := binary.NativeEndian.Uint32(msg[68:]); ino != 0 {
					out = append(out, sock{inode: ino, typ: typ})
				}
			}
		}
	}
}

type ref struct{ pid, fd int32 }

// walkProc reads every /proc/<pid>/fd once, with workers goroutines over
// the processes, and returns the first holder (lowest pid, then fd) of
// each wanted inode.
func walkProc(want map[uint32]int, workers int) (map[uint32]ref, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var pids []int32
	for _, n := range names {
		if p, err := strconv.ParseInt(n, 10, 32); err == nil {
			pids = append(pids, int32(p))
		}
	}
	slices.Sort(pids)
	results := make([][]struct {
		ino uint32
		r   ref
	}, len(pids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dents := make([]byte, 64<<10)
			link := make([]byte, 64)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pids) {
					return
				}
				pid := pids[i]
				dfd, err := unix.Open("/proc/"+strconv.Itoa(int(pid))+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					continue
				}
				for {
					n, err := unix.Getdents(dfd, dents)
					if err != nil || n <= 0 {
						break
					}
					_, _, fdNames := unix.ParseDirent(dents[:n], -1, nil)
					for _, name := range fdNames {
						k, err := unix.Readlinkat(dfd, name, link)
						if err != nil {
							continue
						}
						ino, ok := socketInode(link[:k])
						if !ok {
							continue
						}
						if _, ok := want[ino]; !ok {
							continue
						}
						fd, _ := strconv.Atoi(name)
						results[i] = append(results[i], struct {
							ino uint32
							r   ref
						}{ino, ref{pid, int32(fd)}})
					}
				}
				unix.Close(dfd)
			}
		}()
	}
	wg.Wait()
	out := make(map[uint32]ref, len(want))
	for _, rs := range results { // by pid
		for _, e := range rs {
			if old, ok := out[e.ino]; !ok || (old.pid == e.r.pid && e.r.fd < old.fd) {
				out[e.ino] = e.r
			}
		}
	}
	return out, nil
}

// socketInode parses "socket:[12345]".
func socketInode(b []byte) (uint32, bool) {
	const prefix = "socket:["
	if len(b) < len(prefix)+2 || string(b[:len(prefix)]) != prefix || b[len(b)-1] != ']' {
		return 0, false
	}
	var n uint64
	for _, c := range b[len(prefix) : len(b)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}
