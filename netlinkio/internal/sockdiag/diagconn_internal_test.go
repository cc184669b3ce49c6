package sockdiag

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nlmsg is one netlink message as the kernel frames it, padded to 4 bytes.
func nlmsg(typ uint16, seq, port uint32, payload []byte) []byte {
	b := native.AppendUint32(nil, uint32(unix.NLMSG_HDRLEN+len(payload)))
	b = native.AppendUint16(b, typ)
	b = native.AppendUint16(b, unix.NLM_F_MULTI)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, port)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// errnoPayload is the int that starts NLMSG_DONE and NLMSG_ERROR.
func errnoPayload(e unix.Errno) []byte { return native.AppendUint32(nil, uint32(-int32(e))) }

// errPayload is a struct nlmsgerr: the errno and the request's header.
func errPayload(e unix.Errno) []byte {
	return append(errnoPayload(e), make([]byte, unix.NLMSG_HDRLEN)...)
}

func TestParseDiagReplies(t *testing.T) {
	const seq, port = 7, 4242
	diag := func(b byte) []byte { return nlmsg(sockDiagByFamily, seq, port, []byte{b, 1, 2}) }
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	for _, tc := range []struct {
		name string
		in   []byte
		msgs int
		done bool
		err  error // nil, errDiagMalformed, an errno, or errAny for another error
	}{
		{"messages then done", cat(diag(1), diag(2), nlmsg(unix.NLMSG_DONE, seq, port, errnoPayload(0))), 2, true, nil},
		{"messages, more to come", cat(diag(1), diag(2)), 2, false, nil},
		{"empty done of an old kernel", nlmsg(unix.NLMSG_DONE, seq, port, nil), 0, true, nil},
		{"done with the dump's error", cat(diag(1), nlmsg(unix.NLMSG_DONE, seq, port, errnoPayload(unix.ENOBUFS))), 1, true, unix.ENOBUFS},
		{"no diag module", nlmsg(unix.NLMSG_ERROR, seq, port, errPayload(unix.ENOENT)), 0, true, unix.ENOENT},
		{"acknowledgement", nlmsg(unix.NLMSG_ERROR, seq, port, errPayload(0)), 0, true, nil},
		{"short error", nlmsg(unix.NLMSG_ERROR, seq, port, []byte{1}), 0, true, errDiagMalformed},
		{"other types skipped", cat(nlmsg(unix.NLMSG_NOOP, seq, port, nil), diag(1)), 1, false, nil},
		{"another request's reply", nlmsg(sockDiagByFamily, seq-1, port, []byte{1}), 0, false, errAny},
		{"another port's reply", nlmsg(sockDiagByFamily, seq, port+1, []byte{1}), 0, false, errAny},
		{"short header", diag(1)[:10], 0, false, errDiagMalformed},
		{"length past the datagram", diag(1)[:unix.NLMSG_HDRLEN+2], 0, false, errDiagMalformed},
		{"length below the header", cat(native.AppendUint32(nil, 8), diag(1)[4:]), 0, false, errDiagMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := 0
			done, err := parseDiagReplies(tc.in, seq, port, func(msg []byte) {
				msgs++
				if len(msg) != 3 || msg[1] != 1 {
					t.Errorf("payload %v, want the 3 bytes sent", msg)
				}
			})
			if tc.err == errAny {
				if err == nil {
					t.Fatal("no error")
				}
			} else if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && (msgs != tc.msgs || done != tc.done) {
				t.Fatalf("%d messages, done %v; want %d, %v", msgs, done, tc.msgs, tc.done)
			}
		})
	}
}

var errAny = errors.New("any error")

func byInode(a, b image.Socket) int { return cmp.Compare(a.Inode, b.Inode) }

// makeSockets opens n bound UDP sockets and one each of UDP-Lite (where
// the kernel has it), a listening TCP socket and a raw one in this process
// (TestMain runs the tests in a private network namespace). They close
// when the test ends.
func makeSockets(t *testing.T, n int) {
	t.Helper()
	open := func(typ, proto int, listen bool) {
		fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, proto)
		if errors.Is(err, unix.EPROTONOSUPPORT) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if typ == unix.SOCK_RAW {
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		if listen {
			if err := unix.Listen(fd, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range n {
		open(unix.SOCK_DGRAM, unix.IPPROTO_UDP, false)
	}
	open(unix.SOCK_DGRAM, ipprotoUDPLite, false)
	open(unix.SOCK_STREAM, unix.IPPROTO_TCP, true)
	open(unix.SOCK_RAW, unix.IPPROTO_UDP, false)
}

// TestListSocketsMatchesNetlinkConn checks the raw reader against
// mdlayher/netlink's, over enough sockets to take many datagrams: the same
// sockets, parsed the same, sorted by inode.
func TestListSocketsMatchesNetlinkConn(t *testing.T) {
	makeSockets(t, 3000)
	got, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(got, byInode) {
		t.Error("listing is not sorted by inode")
	}
	c, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want []image.Socket
	for _, fp := range familyProtocols() {
		family, p := fp.family, fp.p
		req := make([]byte, inetDiagReqV2Len)
		req[0], req[1] = family, p.proto
		if p.proto == unix.IPPROTO_RAW {
			req[3] = rawAllProtocols
		}
		native.PutUint32(req[4:], allStates)
		msgs, err := c.Execute(netlink.Message{
			Header: netlink.Header{Type: sockDiagByFamily, Flags: netlink.Request | netlink.Dump},
			Data:   req,
		})
		if errors.Is(err, unix.ENOENT) && p.proto == unix.IPPROTO_RAW {
			// No raw_diag: the listing read /proc/net/raw instead.
			text, err := readProcNetRaw(family)
			if err != nil {
				t.Fatal(err)
			}
			raw := parseProcNetRaw(text, family)
			if len(raw) == 0 && family == unix.AF_INET {
				t.Error("/proc/net/raw lists no socket")
			}
			want = append(want, raw...)
			continue
		}
		if errors.Is(err, unix.ENOENT) && p.proto == ipprotoUDPLite {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if s, ok := parseDiagMsg(m.Data, p.proto, p.typ); ok {
				want = append(want, s)
			}
		}
	}
	slices.SortFunc(want, byInode)
	if len(want) < 3002 {
		t.Fatalf("the reference lists %d sockets, want at least 3,002", len(want))
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
		t.Fatalf("List (-netlink.Conn +raw):\n%s", diff)
	}
}

// TestSocketListSorts checks both of socketList's sorts against a stable
// sort of the same sockets, over several chunks, with repeated inodes
// (told apart by UID) and, for the slow sort, one inode above 32 bits.
func TestSocketListSorts(t *testing.T) {
	for _, wide := range []bool{false, true} {
		var l socketList
		var want []image.Socket
		for i := range 3*socketChunk + 5 {
			s := image.Socket{Inode: uint64(i*7919%1000 + 1), UID: uint32(i)}
			if wide && i == 42 {
				s.Inode = 1 << 40
			}
			l.add(s)
			want = append(want, s)
		}
		slices.SortStableFunc(want, byInode)
		if diff := gocmp.Diff(want, l.sorted(), cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
			t.Errorf("wide %v (-want +got):\n%s", wide, diff)
		}
	}
}
