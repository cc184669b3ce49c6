package exact

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

// Tags that start each record the program writes (bpf/iter.bpf.c).
const (
	tagSock    = 1
	tagMc      = 2
	tagPartial = 3
	tagMc6     = 4
	tagFilter  = 5
	tagTCP     = 6
	tagInode   = 7 // the first walk of the tables only (parseInodes)
)

// record is one socket as the program wrote it: the sock_rec and its
// multicast lists in the kernel's order (newest first): the IPv4 one,
// then, for AF_INET6, the IPv6 one.
type record struct {
	iterSockRec
	// tcp is the tcp_rec that follows a TCP socket's sock_rec (nil for
	// any other socket).
	tcp *iterTcpRec
	mc  []mcEntry
	// filter is the classic filter's instructions (SO_GET_FILTER's),
	// when Filter is 1.
	filter []byte
	// partial: the list was longer than the program walks, so the record
	// cannot make a whole image.
	partial bool
}

// mcEntry is one entry of inet->mc_list, or of ipv6_pinfo->ipv6_mc_list
// (an IPv6 group, no address).
type mcEntry struct {
	group, address netip.Addr
	ifindex        int32
	mode           uint32
	sources        []netip.Addr
}

// errStream is a stream that does not parse: a program and reader that
// disagree on the layout.
var errStream = errors.New("exact reader: malformed record stream")

// parse splits the program's output into records.
func parse(b []byte) ([]record, error) {
	return parseStream(&stream{b: b, eof: true}, len(b)/int(unsafe.Sizeof(iterSockRec{})))
}

// parseStream splits the program's output into records as it comes,
// with room for about hint records from the start (a whole host's pass
// is 100,000 records and more: one allocation, not the doublings).
func parseStream(st *stream, hint int) ([]record, error) {
	const sockSize, mcSize, mc6Size, filterSize = int(unsafe.Sizeof(iterSockRec{})), int(unsafe.Sizeof(iterMcRec{})), int(unsafe.Sizeof(iterMc6Rec{})), int(unsafe.Sizeof(iterFilterRec{}))
	const tcpSize = int(unsafe.Sizeof(iterTcpRec{}))
	out := make([]record, 0, hint)
	for {
		b, err := st.need(4)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch tag := native.Uint32(b); tag {
		case tagSock:
			if b, err = st.take(sockSize, "socket record"); err != nil {
				return nil, err
			}
			out = append(out, record{})
			r := &out[len(out)-1]
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&r.iterSockRec)), sockSize), b)
		case tagMc:
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: stray membership record", errStream)
			}
			if b, err = st.take(mcSize, "membership record"); err != nil {
				return nil, err
			}
			var m iterMcRec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&m)), mcSize), b)
			if b, err = st.take(4*int(m.Nsrc), "source list"); err != nil {
				return nil, err
			}
			e := mcEntry{group: inAddr(m.Multiaddr), address: inAddr(m.Address), ifindex: m.Ifindex, mode: m.Sfmode}
			for i := range int(m.Nsrc) {
				e.sources = append(e.sources, netip.AddrFrom4([4]byte(b[4*i:])))
			}
			r := &out[len(out)-1]
			r.mc = append(r.mc, e)
		case tagMc6:
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: stray IPv6 membership record", errStream)
			}
			if b, err = st.take(mc6Size, "IPv6 membership record"); err != nil {
				return nil, err
			}
			var m iterMc6Rec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&m)), mc6Size), b)
			if b, err = st.take(16*int(m.Nsrc), "IPv6 source list"); err != nil {
				return nil, err
			}
			e := mcEntry{group: netip.AddrFrom16(m.Group), ifindex: m.Ifindex, mode: m.Sfmode}
			for i := range int(m.Nsrc) {
				e.sources = append(e.sources, netip.AddrFrom16([16]byte(b[16*i:])))
			}
			r := &out[len(out)-1]
			r.mc = append(r.mc, e)
		case tagTCP:
			if len(out) == 0 || out[len(out)-1].tcp != nil {
				return nil, fmt.Errorf("%w: stray TCP record", errStream)
			}
			if b, err = st.take(tcpSize, "TCP record"); err != nil {
				return nil, err
			}
			t := new(iterTcpRec)
			copy(unsafe.Slice((*byte)(unsafe.Pointer(t)), tcpSize), b)
			out[len(out)-1].tcp = t
		case tagFilter:
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: stray filter record", errStream)
			}
			if b, err = st.take(filterSize, "filter record"); err != nil {
				return nil, err
			}
			if b, err = st.take(8*int(native.Uint32(b[4:])), "filter"); err != nil {
				return nil, err
			}
			out[len(out)-1].filter = append([]byte{}, b...)
		case tagPartial:
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: stray partial mark", errStream)
			}
			out[len(out)-1].partial = true
			st.take(4, "partial mark")
		default:
			return nil, fmt.Errorf("%w: tag %d at offset %d", errStream, tag, st.read+st.off)
		}
	}
}

// stream is the program's output as it is read: a window of it, refilled
// from rd, so that a pass over a whole host is never held whole (tens of
// megabytes) beside its records.
type stream struct {
	rd   io.Reader
	b    []byte // the window; b[off:] is not parsed yet
	off  int
	read int // bytes before the window
	eof  bool
}

// streamWindow is the window's size: more than the longest run that is
// taken at once (a filter of 4,096 instructions, 32 KiB).
const streamWindow = 256 << 10

// need returns the next n bytes without taking them: io.EOF at the end of
// the stream, errStream when it ends inside them.
func (st *stream) need(n int) ([]byte, error) {
	for len(st.b)-st.off < n && !st.eof {
		if st.off > 0 { // keep what is left at the start
			st.read += st.off
			st.b = st.b[:copy(st.b, st.b[st.off:])]
			st.off = 0
		}
		if cap(st.b) < max(n, streamWindow) {
			st.b = append(make([]byte, 0, max(n, streamWindow)), st.b...)
		}
		m, err := st.rd.Read(st.b[len(st.b):cap(st.b)])
		st.b = st.b[:len(st.b)+m]
		if err == io.EOF {
			st.eof = true
		} else if err != nil {
			return nil, fmt.Errorf("exact reader: read: %w", err)
		}
	}
	switch left := len(st.b) - st.off; {
	case left == 0:
		return nil, io.EOF
	case left < n:
		return nil, fmt.Errorf("%w: %d trailing bytes", errStream, left)
	}
	return st.b[st.off : st.off+n], nil
}

// take takes the next n bytes, what: a short stream is errStream naming
// what it cut.
func (st *stream) take(n int, what string) ([]byte, error) {
	b, err := st.need(n)
	if err == io.EOF && n > 0 {
		err = fmt.Errorf("%w: short %s", errStream, what)
	}
	if err != nil && !(err == io.EOF && n == 0) {
		return nil, err
	}
	st.off += n
	return b, nil
}

// parseInodes reads the first walk of the socket tables: an inode_rec
// per socket.
func parseInodes(b []byte) ([]uint64, error) {
	const size = int(unsafe.Sizeof(iterInodeRec{}))
	if len(b)%size != 0 {
		return nil, fmt.Errorf("%w: %d bytes of table sockets", errStream, len(b))
	}
	out := make([]uint64, 0, len(b)/size)
	for off := 0; off < len(b); off += size {
		if tag := native.Uint32(b[off:]); tag != tagInode {
			return nil, fmt.Errorf("%w: tag %d among table sockets", errStream, tag)
		}
		out = append(out, native.Uint64(b[off+8:]))
	}
	return out, nil
}

// inAddr is an address the kernel keeps in network order, read as a host
// order u32 from the record.
func inAddr(x uint32) netip.Addr {
	var a [4]byte
	native.PutUint32(a[:], x)
	return netip.AddrFrom4(a)
}

// all runs the program over every task's files: one pass.
func (p *program) readAll() ([]record, error) {
	rd, err := p.all.Open()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	// Parsed as it is read, with room for the last pass's records and a
	// few more from the start: a mount's peak memory is its pass, which
	// read whole, then parsed into a slice that doubled, was the records
	// twice and more.
	recs, err := parseStream(&stream{rd: rd}, int(p.lastPass.Load())*9/8+64)
	if err == nil {
		p.lastPass.Store(int64(len(recs)))
	}
	return recs, err
}

func readRecords(rd io.Reader) ([]record, error) {
	return parseStream(&stream{rd: rd}, 0)
}

// BPF commands and the attach type a pid-limited iterator link needs,
// which cilium/ebpf's link.AttachIter does not take (it passes a map only).
const (
	bpfLinkCreate  = 28
	bpfIterCreate  = 33
	bpfTraceIter   = 28
	iterInfoLength = 16 // sizeof(union bpf_iter_link_info)
)

// readSocket reads socket inode, descriptor fd of process pid: a
// duplicate of it is given storage in the asked map, and the asked
// iterator visits it (and the sockets of concurrent reads, which the
// caller skips) and no other. The duplicate's inode must be inode: a
// holder may have closed the socket and reused the number since it was
// found there (image.ErrNoSocket).
//
// Where the duplicate is refused (EPERM: kernel.yama.ptrace_scope 3, or a
// holder this process may not trace) it walks the holder's descriptors
// instead, which needs no duplicate.
func (p *program) readSocket(pid, fd int, inode uint64) ([]record, error) {
	dup, err := stock.Duplicate(pid, fd)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return p.readProcess(pid)
	}
	if err != nil {
		return nil, dupError(err)
	}
	defer unix.Close(dup)
	var st unix.Stat_t
	if unix.Fstat(dup, &st) != nil || st.Ino != inode {
		return nil, image.ErrNoSocket
	}
	return p.readAsked(dup, inode, iterHolder{Pid: uint32(pid), Fd: uint32(fd)})
}

// readAsked reads the socket inode of this process's descriptor fd, as
// the records name its holder h.
func (p *program) readAsked(fd int, inode uint64, h iterHolder) ([]record, error) {
	if err := p.askedStore.add(fd, inode, h); err != nil {
		return nil, fmt.Errorf("exact reader: socket storage for socket %d: %w", inode, err)
	}
	defer p.askedStore.remove(fd, inode)
	// The iterator resumes each read where the last one stopped by
	// counting the entries of a bucket, so storage that concurrent reads
	// take away meanwhile can make it skip one: look again.
	for try := 0; ; try++ {
		recs, err := p.readAskedOnce()
		if err != nil || try == 3 || slices.ContainsFunc(recs, func(r record) bool { return r.Inode == inode }) {
			return recs, err
		}
	}
}

// readAskedOnce runs the asked iterator: the sockets with storage.
func (p *program) readAskedOnce() ([]record, error) {
	rd, err := p.asked.Open()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return readRecords(rd)
}

// readProcess runs the program over the files of one process only (the
// link's task parameter, Linux 6.1). Each call makes its own link, so
// concurrent reads share nothing.
func (p *program) readProcess(pid int) ([]record, error) {
	progFd := uint32(p.prog.FD())
	// On the heap, and kept alive past the call: the attribute holds its
	// address as a number, which a goroutine stack's move (a call that
	// grows it, such as FD above) would leave pointing at old memory, and
	// the kernel would read some other pid (ESRCH: no records at all).
	info := new([iterInfoLength]byte)
	native.PutUint32(info[4:], uint32(pid)) // task.tid = 0, task.pid
	attr := struct {
		progFd, targetFd, attachType, flags uint32
		iterInfo                            uint64
		iterInfoLen                         uint32
		_                                   uint32
	}{progFd: progFd, attachType: bpfTraceIter, iterInfo: uint64(uintptr(unsafe.Pointer(info))), iterInfoLen: iterInfoLength}
	lfd, _, e := unix.Syscall(unix.SYS_BPF, bpfLinkCreate, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if e != 0 {
		if e == unix.ESRCH || e == unix.ENOENT {
			return nil, nil // the process exited: it holds nothing
		}
		return nil, fmt.Errorf("exact reader: iterator link for pid %d: %w", pid, e)
	}
	defer unix.Close(int(lfd))
	iattr := struct{ linkFd, flags uint32 }{linkFd: uint32(lfd)}
	ifd, _, e := unix.Syscall(unix.SYS_BPF, bpfIterCreate, uintptr(unsafe.Pointer(&iattr)), unsafe.Sizeof(iattr))
	if e != 0 {
		return nil, fmt.Errorf("exact reader: iterator for pid %d: %w", pid, e)
	}
	f := os.NewFile(ifd, "bpf_iter")
	defer f.Close()
	return readRecords(f)
}

// measureHZ reads HZ from the kernel itself: a socket of this process
// with a receive timeout of one second keeps HZ jiffies. Timeouts and the
// linger time are jiffies, and getsockopt reports them divided by HZ.
func (p *program) measureHZ() (int64, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1}); err != nil {
		return 0, err
	}
	recs, err := p.readProcess(os.Getpid())
	if err != nil {
		return 0, err
	}
	for _, r := range recs {
		if int(r.Fd) == fd && r.SkRcvtimeo > 0 {
			return r.SkRcvtimeo, nil
		}
	}
	return 0, fmt.Errorf("no record of descriptor %d among %d", fd, len(recs))
}
