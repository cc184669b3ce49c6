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

	"github.com/cilium/ebpf"
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
	const sockSize, mcSize, mc6Size, filterSize = int(unsafe.Sizeof(iterSockRec{})), int(unsafe.Sizeof(iterMcRec{})), int(unsafe.Sizeof(iterMc6Rec{})), int(unsafe.Sizeof(iterFilterRec{}))
	const tcpSize = int(unsafe.Sizeof(iterTcpRec{}))
	// At most this many records: one allocation, not the doublings of a
	// slice of 100,000 records of a whole host's pass.
	out := make([]record, 0, len(b)/sockSize)
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("%w: %d trailing bytes", errStream, len(b)-off)
		}
		switch tag := native.Uint32(b[off:]); tag {
		case tagSock:
			if len(b)-off < sockSize {
				return nil, fmt.Errorf("%w: short socket record", errStream)
			}
			out = append(out, record{})
			r := &out[len(out)-1]
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&r.iterSockRec)), sockSize), b[off:])
			off += sockSize
		case tagMc:
			if len(out) == 0 || len(b)-off < mcSize {
				return nil, fmt.Errorf("%w: stray membership record", errStream)
			}
			var m iterMcRec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&m)), mcSize), b[off:])
			off += mcSize
			if len(b)-off < 4*int(m.Nsrc) {
				return nil, fmt.Errorf("%w: short source list", errStream)
			}
			e := mcEntry{group: inAddr(m.Multiaddr), address: inAddr(m.Address), ifindex: m.Ifindex, mode: m.Sfmode}
			for i := range int(m.Nsrc) {
				e.sources = append(e.sources, netip.AddrFrom4([4]byte(b[off+4*i:])))
			}
			off += 4 * int(m.Nsrc)
			r := &out[len(out)-1]
			r.mc = append(r.mc, e)
		case tagMc6:
			if len(out) == 0 || len(b)-off < mc6Size {
				return nil, fmt.Errorf("%w: stray IPv6 membership record", errStream)
			}
			var m iterMc6Rec
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&m)), mc6Size), b[off:])
			off += mc6Size
			if len(b)-off < 16*int(m.Nsrc) {
				return nil, fmt.Errorf("%w: short IPv6 source list", errStream)
			}
			e := mcEntry{group: netip.AddrFrom16(m.Group), ifindex: m.Ifindex, mode: m.Sfmode}
			for i := range int(m.Nsrc) {
				e.sources = append(e.sources, netip.AddrFrom16([16]byte(b[off+16*i:])))
			}
			off += 16 * int(m.Nsrc)
			r := &out[len(out)-1]
			r.mc = append(r.mc, e)
		case tagTCP:
			if len(out) == 0 || len(b)-off < tcpSize || out[len(out)-1].tcp != nil {
				return nil, fmt.Errorf("%w: stray TCP record", errStream)
			}
			t := new(iterTcpRec)
			copy(unsafe.Slice((*byte)(unsafe.Pointer(t)), tcpSize), b[off:])
			off += tcpSize
			out[len(out)-1].tcp = t
		case tagFilter:
			if len(out) == 0 || len(b)-off < filterSize {
				return nil, fmt.Errorf("%w: stray filter record", errStream)
			}
			n := 8 * int(native.Uint32(b[off+4:]))
			off += filterSize
			if len(b)-off < n {
				return nil, fmt.Errorf("%w: short filter", errStream)
			}
			out[len(out)-1].filter = append([]byte{}, b[off:off+n]...)
			off += n
		case tagPartial:
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: stray partial mark", errStream)
			}
			out[len(out)-1].partial = true
			off += 4
		default:
			return nil, fmt.Errorf("%w: tag %d at offset %d", errStream, tag, off)
		}
	}
	return out, nil
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
	return readRecords(rd)
}

func readRecords(rd io.Reader) ([]record, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("exact reader: read: %w", err)
	}
	return parse(b)
}

// BPF commands and the attach type a pid-limited iterator link needs,
// which cilium/ebpf's link.AttachIter does not take (it passes a map only).
const (
	bpfLinkCreate  = 28
	bpfIterCreate  = 33
	bpfTraceIter   = 28
	iterInfoLength = 16 // sizeof(union bpf_iter_link_info)
)

// readProcess runs the program over the files of one process only (the
// link's task parameter, Linux 6.1). Each call makes its own link, so
// concurrent reads share nothing.
func (p *program) readProcess(pid int) ([]record, error) {
	return p.readTask(p.prog, pid)
}

// readSocket reads socket inode, descriptor fd of process pid: a
// duplicate of it is given storage in the asked map, and the asked
// iterator visits it (and the sockets of concurrent reads, which the
// caller skips) and no other. The duplicate's inode must be inode: a
// holder may have closed the socket and reused the number since it was
// found there (image.ErrNoSocket).
func (p *program) readSocket(pid, fd int, inode uint64) ([]record, error) {
	dup, err := stock.Duplicate(pid, fd)
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

// readTask runs prog over the files of one process.
func (p *program) readTask(prog *ebpf.Program, pid int) ([]record, error) {
	progFd := uint32(prog.FD())
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
