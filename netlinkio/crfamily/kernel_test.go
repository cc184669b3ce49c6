package crfamily_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/inetcr/inetcr/internal/crsim"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/crfamily"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// TestMain, in stock_test.go, runs these tests in a private network
// namespace (netnstest.Main); a package has only one TestMain.

// The running kernel is a stock one, so asking for the family by name must
// fail clearly and "auto" must fall back to the stock engine.
func TestKernelOpenOnStockKernel(t *testing.T) {
	_, err := netlinkio.Open("kernel")
	if !errors.Is(err, crfamily.ErrNoFamily) || !strings.Contains(fmt.Sprint(err), "AF_INET_CR") {
		t.Fatalf(`Open("kernel") = %v, want %v`, err, crfamily.ErrNoFamily)
	}
	b, err := netlinkio.Open("auto")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != "stock" && b.Name() != "exact" {
		t.Fatalf(`Open("auto").Name() = %q, want "exact" or "stock"`, b.Name())
	}
}

func TestKernelResolveFamily(t *testing.T) {
	tests := []struct {
		name string
		fn   genltest.Func
		want string // substring of the error; empty for success
	}{
		{name: "simulated", fn: crsim.New(ktNewFake()).Func()},
		{
			name: "absent",
			fn: func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
				return nil, genltest.Error(int(unix.ENOENT))
			},
			want: crfamily.ErrNoFamily.Error(),
		},
		{
			name: "version 2",
			fn:   genltest.ServeFamily(genetlink.Family{ID: 0x20, Name: crfamily.FamilyName, Version: 2}, nil),
			want: "version 2, this client speaks 1",
		},
		{
			name: "controller refuses",
			fn: func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
				return nil, genltest.Error(int(unix.EPERM))
			},
			want: "operation not permitted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := genltest.Dial(tt.fn)
			defer c.Close()
			k, err := crfamily.NewKernelConn(c, ktNewFake())
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if k.Name() != "kernel" {
					t.Fatalf("Name() = %q", k.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewKernelConn: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// ktFake is an engine without sockets: a map of images by inode. It stands in
// for the stock engine as the simulation's kernel half where the protocol,
// not the engine, is under test.
type ktFake struct {
	mu       sync.Mutex
	images   map[uint64]*image.Image
	restores int
	err      error // returned by Restore when set
}

func ktNewFake() *ktFake {
	return &ktFake{images: map[uint64]*image.Image{1000: ktSample(), 1001: ktSample()}}
}

func (f *ktFake) Name() string { return "fake" }
func (f *ktFake) Close() error { return nil }

func (f *ktFake) List() ([]image.Socket, error) {
	return []image.Socket{{Inode: 1000, Type: unix.SOCK_DGRAM}, {Inode: 1001, Type: unix.SOCK_DGRAM}}, nil
}

func (f *ktFake) Holders(inode uint64) ([]image.Holder, error) {
	return []image.Holder{{Pid: 1, Fd: 3, Comm: "fake"}}, nil
}

func (f *ktFake) Dump(inode uint64) (*image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[inode]
	if !ok {
		return nil, &image.OpError{Op: "dump", Inode: inode, Err: image.ErrNoSocket}
	}
	return img.Clone(), nil
}

func (f *ktFake) Restore(inode uint64, img *image.Image) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.images[inode]; !ok {
		return &image.OpError{Op: "restore", Inode: inode, Err: image.ErrNoSocket}
	}
	if f.err != nil {
		return f.err
	}
	f.restores++
	f.images[inode] = img.Clone()
	return nil
}

// ktSample is a valid image of an unbound UDP socket with one
// membership: every option at the bottom of its range, TTL 64.
func ktSample() *image.Image {
	img := &image.Image{
		Family:   unix.AF_INET,
		Type:     unix.SOCK_DGRAM,
		Protocol: unix.IPPROTO_UDP,
		State:    7, // TCP_CLOSE
		Local:    netip.MustParseAddrPort("0.0.0.0:0"),
		Peer:     netip.MustParseAddrPort("0.0.0.0:0"),
		Values:   map[uint16]image.Value{},
		Memberships: []image.Membership{{
			Group:   netip.MustParseAddr("239.1.2.3"),
			Address: netip.IPv4Unspecified(),
			Ifindex: 2,
		}},
	}
	for _, o := range image.OptionsFor(img.Family, img.Type) {
		v := image.Value{Num: o.Min}
		if o.Kind == image.InAddr {
			v.Bytes = []byte{0, 0, 0, 0}
		}
		img.Values[o.Attr] = v
	}
	img.Values[ktTTL.Attr] = image.Value{Num: 64}
	return img
}

var ktTTL, _ = image.LookupOption("ipopt", "ttl")

// ktSimKernel returns a Kernel talking to a simulated family whose kernel
// half is engine.
func ktSimKernel(t *testing.T, engine interface {
	crsim.Engine
	crfamily.Lister
}) (*crfamily.Kernel, *crsim.Sim) {
	t.Helper()
	sim := crsim.New(engine)
	k, err := crfamily.NewKernelConn(sim.Dial(), engine)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k, sim
}

func TestKernelProtocol(t *testing.T) {
	bad := ktSample()
	bad.Values[ktTTL.Attr] = image.Value{Num: 0}
	changed := ktSample()
	changed.Values[ktTTL.Attr] = image.Value{Num: 99}

	tests := []struct {
		name      string
		do        func(*crfamily.Kernel) error
		engineErr error
		want      error  // errors.Is target; nil for success
		text      string // substring of the error
		restores  int
	}{
		{name: "dump", do: func(k *crfamily.Kernel) error { return ktDumpEquals(k, 1000, ktSample()) }},
		{name: "restore", do: func(k *crfamily.Kernel) error {
			if err := k.Restore(1000, changed); err != nil {
				return err
			}
			return ktDumpEquals(k, 1000, changed)
		}, restores: 1},
		{name: "dump unknown", do: ktDumpOnly(4242), want: syscall.ENOENT, text: "dump 4242: no such socket"},
		{name: "restore unknown", do: ktRestoreOnly(4242, changed), want: syscall.ENOENT, text: "restore 4242: no such socket"},
		{name: "invalid image stays here", do: ktRestoreOnly(1000, bad), want: syscall.EINVAL, text: "restore 1000: IPOPT_TTL: value 0 out of range"},
		{name: "engine errno", do: ktRestoreOnly(1000, changed), engineErr: syscall.EPERM, want: syscall.EPERM},
		{name: "engine error without errno", do: ktRestoreOnly(1000, changed), engineErr: errors.New("boom"), want: syscall.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ktNewFake()
			f.err = tt.engineErr
			k, _ := ktSimKernel(t, f)
			err := tt.do(k)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.text) {
				t.Fatalf("error %v, want %v containing %q", err, tt.want, tt.text)
			}
			if f.restores != tt.restores {
				t.Fatalf("engine restored %d times, want %d", f.restores, tt.restores)
			}
		})
	}
}

func ktDumpOnly(inode uint64) func(*crfamily.Kernel) error {
	return func(k *crfamily.Kernel) error { _, err := k.Dump(inode); return err }
}

func ktRestoreOnly(inode uint64, img *image.Image) func(*crfamily.Kernel) error {
	return func(k *crfamily.Kernel) error { return k.Restore(inode, img) }
}

func ktDumpEquals(k *crfamily.Kernel, inode uint64, want *image.Image) error {
	got, err := k.Dump(inode)
	if err != nil {
		return err
	}
	if diff := cmp.Diff(want.Encode(), got.Encode()); diff != "" {
		return fmt.Errorf("image (-want +got):\n%s", diff)
	}
	return nil
}

func TestKernelDelegatesListing(t *testing.T) {
	f := ktNewFake()
	k, _ := ktSimKernel(t, f)
	got, err := k.List()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.List()
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
		t.Fatalf("List (-want +got):\n%s", diff)
	}
	h, err := k.Holders(1000)
	if err != nil || len(h) != 1 || h[0].Comm != "fake" {
		t.Fatalf("Holders = %v, %v", h, err)
	}
}

// The tree dumps from many goroutines at once; one Kernel serves them all.
func TestKernelConcurrent(t *testing.T) {
	k, _ := ktSimKernel(t, ktNewFake())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			if err := ktDumpEquals(k, 1000+uint64(i%2), ktSample()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// ktInodeAttr builds the INODE attribute by hand, as the protocol table
// says: length 12, type 2, a host-order u64.
func ktInodeAttr(inode uint64) []byte {
	b := binary.NativeEndian.AppendUint16(nil, 12)
	b = binary.NativeEndian.AppendUint16(b, image.AttrInode)
	return binary.NativeEndian.AppendUint64(b, inode)
}

// ktAttr builds any attribute by hand, padded to 4 bytes.
func ktAttr(typ uint16, payload []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// ktPatch replaces the payload of a top-level attribute of an image.
func ktPatch(t *testing.T, image []byte, typ uint16, payload []byte) []byte {
	t.Helper()
	out := slices.Clone(image)
	for off := 0; off+4 <= len(out); {
		n := int(binary.NativeEndian.Uint16(out[off:]))
		if binary.NativeEndian.Uint16(out[off+2:])&0x3fff == typ {
			if n-4 != len(payload) {
				t.Fatalf("attribute %d has %d bytes, not %d", typ, n-4, len(payload))
			}
			copy(out[off+4:], payload)
			return out
		}
		off += (n + 3) &^ 3
	}
	t.Fatalf("image has no attribute %d", typ)
	return nil
}

func ktRaw(c *genetlink.Conn, family uint16, cmd uint8, flags netlink.HeaderFlags, data []byte) ([]genetlink.Message, error) {
	req := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: crfamily.FamilyVersion}, Data: data}
	return c.Execute(req, family, flags)
}

// ktRawCase is one hand-built request and the errno the family must answer.
type ktRawCase struct {
	name   string
	family uint16
	cmd    uint8
	flags  netlink.HeaderFlags
	data   []byte
	want   syscall.Errno
}

// ktRawCases builds requests about inode whose good image is good.
func ktRawCases(t *testing.T, inode uint64, good []byte) []ktRawCase {
	ack := netlink.Request | netlink.Acknowledge
	restore := func(name string, data []byte) ktRawCase {
		return ktRawCase{name: name, family: crsim.FamilyID, cmd: crfamily.CmdRestore, flags: ack, data: data, want: syscall.EINVAL}
	}
	cat := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	ino := ktInodeAttr(inode)
	short := binary.NativeEndian.AppendUint16(nil, 8)
	short = binary.NativeEndian.AppendUint16(short, image.AttrInode)
	short = binary.NativeEndian.AppendUint32(short, uint32(inode))
	return []ktRawCase{
		{name: "dump without inode", family: crsim.FamilyID, cmd: crfamily.CmdDump, flags: netlink.Request, want: syscall.EINVAL},
		{name: "dump with u32 inode", family: crsim.FamilyID, cmd: crfamily.CmdDump, flags: netlink.Request, data: short, want: syscall.EINVAL},
		{name: "dump with inode twice", family: crsim.FamilyID, cmd: crfamily.CmdDump, flags: netlink.Request, data: cat(ino, ino), want: syscall.EINVAL},
		{name: "dump of no socket", family: crsim.FamilyID, cmd: crfamily.CmdDump, flags: netlink.Request, data: ktInodeAttr(1 << 40), want: syscall.ENOENT},
		{name: "unknown command", family: crsim.FamilyID, cmd: 3, flags: netlink.Request, data: ino, want: syscall.EOPNOTSUPP},
		{name: "unknown family id", family: crsim.FamilyID + 1, cmd: crfamily.CmdDump, flags: netlink.Request, data: ino, want: syscall.ENOENT},
		restore("restore without image", ino),
		restore("restore with image first", cat(good, ino)),
		restore("restore with inode twice", cat(ino, ino, good)),
		restore("restore with ttl 0", cat(ino, ktPatch(t, good, ktTTL.Attr, []byte{0}))),
		restore("restore with version 2", cat(ino, ktPatch(t, good, image.AttrVersion, binary.NativeEndian.AppendUint32(nil, 2)))),
		restore("restore with unknown attribute", cat(ino, good, ktAttr(200, nil))),
		restore("restore with trailing bytes", cat(ino, good, []byte{0, 0})),
		restore("restore with image cut short", cat(ino, good[:len(good)-4])),
		{name: "restore onto no socket", family: crsim.FamilyID, cmd: crfamily.CmdRestore, flags: ack, data: cat(ktInodeAttr(1<<40), good), want: syscall.ENOENT},
	}
}

func ktRunRawCases(t *testing.T, c *genetlink.Conn, cases []ktRawCase, after func(t *testing.T)) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ktRaw(c, tt.family, tt.cmd, tt.flags, tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			after(t)
		})
	}
}

func TestSimRefusesMalformedRequests(t *testing.T) {
	f := ktNewFake()
	c := crsim.Dial(f)
	defer c.Close()
	good := ktSample().Encode()
	ktRunRawCases(t, c, ktRawCases(t, 1000, good), func(t *testing.T) {
		if f.restores != 0 {
			t.Fatalf("the engine restored %d times", f.restores)
		}
	})
	// The same image, well formed, is applied and acknowledged.
	if _, err := ktRaw(c, crsim.FamilyID, crfamily.CmdRestore, netlink.Request|netlink.Acknowledge, slices.Concat(ktInodeAttr(1000), good)); err != nil {
		t.Fatal(err)
	}
	if f.restores != 1 {
		t.Fatalf("the engine restored %d times, want 1", f.restores)
	}
}

func TestSimLastError(t *testing.T) {
	tests := []struct {
		name  string
		flags netlink.HeaderFlags
		data  []byte
		want  error
		text  string
	}{
		{name: "no inode", flags: netlink.Request, want: syscall.EINVAL, text: "INODE: missing"},
		// genltest copies the request's flags into its error message, and
		// NLM_F_MATCH shares its bit with NLM_F_ACK_TLVS, so the errno of
		// this one only survives in LastError.
		{name: "NLM_F_DUMP", flags: netlink.Request | netlink.Dump, data: ktInodeAttr(1000), want: syscall.EOPNOTSUPP, text: "NLM_F_DUMP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := crsim.New(ktNewFake())
			c := sim.Dial()
			defer c.Close()
			if _, err := ktRaw(c, crsim.FamilyID, crfamily.CmdDump, tt.flags, tt.data); err == nil {
				t.Fatal("request succeeded")
			}
			if err := sim.LastError(); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("LastError() = %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

// A kernel whose reply does not decode strictly is not trusted: the error
// says the reply was at fault and names the attribute.
func TestKernelRefusesBadReplies(t *testing.T) {
	good := ktSample().Encode()
	tests := []struct {
		name  string
		reply [][]byte
		want  string
	}{
		{name: "trailing bytes", reply: [][]byte{append(slices.Clone(good), 0, 0)}, want: "dump 1000: reply: image: 2 trailing bytes"},
		{name: "no version", reply: [][]byte{good[8:]}, want: "dump 1000: reply: VERSION: must be the first attribute"},
		{name: "two messages", reply: [][]byte{good, good}, want: "dump 1000: reply: 2 messages, want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fam := genetlink.Family{ID: crsim.FamilyID, Name: crfamily.FamilyName, Version: crfamily.FamilyVersion}
			fn := genltest.ServeFamily(fam, func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
				var msgs []genetlink.Message
				for _, b := range tt.reply {
					msgs = append(msgs, genetlink.Message{Header: genetlink.Header{Command: crfamily.CmdDump, Version: 1}, Data: b})
				}
				return msgs, nil
			})
			k, err := crfamily.NewKernelConn(genltest.Dial(fn), ktNewFake())
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if _, err := k.Dump(1000); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Dump: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// A kernel with extended acks says what it refused; the client keeps that
// text and the errno.
func TestKernelExtendedAck(t *testing.T) {
	const msg = "IPOPT_TTL: value 0 out of range 1-255"
	fam := genetlink.Family{ID: crsim.FamilyID, Name: crfamily.FamilyName, Version: crfamily.FamilyVersion}
	family := genltest.ServeFamily(fam, nil)
	fn := func(reqs []netlink.Message) ([]netlink.Message, error) {
		req := reqs[0]
		if req.Header.Type == unix.GENL_ID_CTRL {
			var g genetlink.Message
			if err := g.UnmarshalBinary(req.Data); err != nil {
				return nil, err
			}
			gm, err := family(g, req)
			if err != nil {
				return nil, err
			}
			b, err := gm[0].MarshalBinary()
			return []netlink.Message{{Header: netlink.Header{Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: b}}, err
		}
		// errno, the request's header (capped), then NLMSGERR_ATTR_MSG.
		errno := -int32(unix.EINVAL)
		data := binary.NativeEndian.AppendUint32(nil, uint32(errno))
		data = binary.NativeEndian.AppendUint32(data, 16)
		data = binary.NativeEndian.AppendUint16(data, uint16(req.Header.Type))
		data = binary.NativeEndian.AppendUint16(data, uint16(req.Header.Flags))
		data = binary.NativeEndian.AppendUint32(data, req.Header.Sequence)
		data = binary.NativeEndian.AppendUint32(data, req.Header.PID)
		data = append(data, ktAttr(unix.NLMSGERR_ATTR_MSG, append([]byte(msg), 0))...)
		return []netlink.Message{{
			Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped | netlink.AcknowledgeTLVs, Sequence: req.Header.Sequence, PID: req.Header.PID},
			Data:   data,
		}}, nil
	}
	k, err := crfamily.NewKernelConn(genetlink.NewConn(nltest.Dial(fn)), ktNewFake())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	err = k.Restore(1000, ktSample())
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(fmt.Sprint(err), "restore 1000: "+msg) {
		t.Fatalf("Restore: %v, want EINVAL with %q", err, msg)
	}
}

// The tests below run the simulated family with the stock engine as its
// kernel half against sockets a python3 holder made.

type ktSetup struct {
	stock  *stock.Stock
	kernel *crfamily.Kernel
	sim    *crsim.Sim
	ifi    int
	holder *netnstest.Holder
}

func ktNewSetup(t *testing.T) *ktSetup {
	t.Helper()
	s := &ktSetup{stock: stock.NewStock()}
	s.kernel, s.sim = ktSimKernel(t, s.stock)
	s.ifi = netnstest.Veth(t, "cr0", "10.9.0.1/24")
	s.holder = netnstest.NewHolder(t)
	return s
}

// sockets makes sockets of each kind with options set by the holder.
func (s *ktSetup) sockets(t *testing.T) map[string]*netnstest.Sock {
	t.Helper()
	udp := s.holder.Socket("udp")
	udp.Must("bind", map[string]any{"addr": "10.9.0.1", "port": 0})
	udp.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 33)
	udp.SetInt(unix.IPPROTO_IP, unix.IP_TOS, 0x10)
	udp.SetInt(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 4)
	udp.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": s.ifi})
	udp.Must("join", map[string]any{"group": "239.1.2.4", "ifindex": s.ifi})

	conn := s.holder.Socket("udp")
	conn.Must("connect", map[string]any{"addr": "10.9.0.2", "port": 9999})
	conn.SetInt(unix.IPPROTO_IP, unix.IP_RECVTTL, 1)

	tcp := s.holder.Socket("tcp")
	tcp.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
	tcp.Must("listen", nil)
	tcp.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 44)
	tcp.SetInt(unix.IPPROTO_IP, unix.IP_TOS, 0x08)
	tcp.SetInt(unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)

	raw := s.holder.Socket("raw17")
	raw.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 55)
	raw.SetInt(unix.IPPROTO_IP, unix.IP_TOS, 0x04)
	raw.SetInt(unix.IPPROTO_IP, unix.IP_HDRINCL, 1)
	raw.Must("join", map[string]any{"group": "239.9.9.9", "ifindex": s.ifi})

	// A source filter travels as nested attributes of its own.
	filtered := s.holder.Socket("udp")
	filtered.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.9.0.1", "source": "10.9.0.7"})

	// AF_INET6 images travel in the same family: a dual-stack UDP socket
	// with an IPv4 and an IPv6 group, the latter with an MLDv2 filter.
	udp6 := s.holder.Socket6("udp")
	udp6.Must("bind", map[string]any{"addr": "::", "port": 0})
	udp6.SetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 21)
	udp6.Must("join", map[string]any{"group": "239.6.6.6", "ifindex": s.ifi})
	udp6.Must("join6_source", map[string]any{"group": "ff35::6", "ifindex": s.ifi, "source": "2001:db8::7"})

	return map[string]*netnstest.Sock{"udp": udp, "udp connected": conn, "udp filtered": filtered, "tcp": tcp, "raw17": raw, "udp6": udp6}
}

// An AF_INET6 image restores through the family as an AF_INET one does.
func TestKernelRestoresIPv6(t *testing.T) {
	s := ktNewSetup(t)
	udp6 := s.sockets(t)["udp6"]
	img, err := s.kernel.Dump(udp6.Inode)
	if err != nil {
		t.Fatalf("%v (simulation: %v)", err, s.sim.LastError())
	}
	o, _ := image.LookupOption("ip6opt", "unicast_hops")
	img.Values[o.Attr] = image.Value{Num: 66}
	img.Memberships = slices.DeleteFunc(img.Memberships, func(m image.Membership) bool { return m.Group.Is6() })
	if err := s.kernel.Restore(udp6.Inode, img); err != nil {
		t.Fatalf("%v (simulation: %v)", err, s.sim.LastError())
	}
	if got := udp6.GetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS); got != 66 {
		t.Errorf("hop limit %d, want 66", got)
	}
	after, err := s.stock.Dump(udp6.Inode)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(img.Encode(), after.Encode()); diff != "" {
		t.Fatalf("image after restore (-restored +dumped):\n%s", diff)
	}
}

func TestKernelDumpMatchesStock(t *testing.T) {
	s := ktNewSetup(t)
	for name, sock := range s.sockets(t) {
		t.Run(name, func(t *testing.T) {
			want, err := s.stock.Dump(sock.Inode)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.kernel.Dump(sock.Inode)
			if err != nil {
				t.Fatalf("%v (simulation: %v)", err, s.sim.LastError())
			}
			if diff := cmp.Diff(want.Encode(), got.Encode()); diff != "" {
				t.Fatalf("kernel image differs from stock (-stock +kernel):\n%s", diff)
			}
			if name == "udp filtered" && (len(got.Memberships) != 1 || !got.Memberships[0].HasFilter()) {
				t.Fatalf("memberships %v, want one with a source filter", got.Memberships)
			}
		})
	}
}

func TestKernelRestoreChangesSocket(t *testing.T) {
	s := ktNewSetup(t)
	socks := s.sockets(t)
	udp := socks["udp"]
	img, err := s.kernel.Dump(udp.Inode)
	if err != nil {
		t.Fatal(err)
	}
	set := func(name string, v uint64) {
		o, ok := image.LookupOption("ipopt", name)
		if !ok {
			t.Fatalf("no option ipopt/%s", name)
		}
		img.Values[o.Attr] = image.Value{Num: v}
	}
	set("ttl", 77)
	set("tos", 0x20)
	set("multicast_ttl", 9)
	set("pktinfo", 1)
	img.Memberships = img.Memberships[:1]
	if err := s.kernel.Restore(udp.Inode, img); err != nil {
		t.Fatalf("%v (simulation: %v)", err, s.sim.LastError())
	}
	for _, c := range []struct {
		opt, want int
	}{
		{unix.IP_TTL, 77}, {unix.IP_TOS, 0x20}, {unix.IP_MULTICAST_TTL, 9}, {unix.IP_PKTINFO, 1},
	} {
		if got := udp.GetInt(unix.IPPROTO_IP, c.opt); got != c.want {
			t.Errorf("getsockopt(%d) = %d, want %d", c.opt, got, c.want)
		}
	}
	// The image of a restored socket is the image that was restored.
	after, err := s.stock.Dump(udp.Inode)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(img.Encode(), after.Encode()); diff != "" {
		t.Fatalf("image after restore (-restored +dumped):\n%s", diff)
	}

	// The one-change operations of the tree work through the family too.
	target, err := netlinkio.Take(s.kernel, udp.Inode)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := target.SetOption(nil, ktTTL, "12\n"); err != nil {
		t.Fatal(err)
	}
	if got := udp.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 12 {
		t.Fatalf("ttl %d after SetOption, want 12", got)
	}
	m := image.Membership{Group: netip.MustParseAddr("239.7.7.7"), Address: netip.IPv4Unspecified(), Ifindex: int32(s.ifi)}
	if err := target.Join(nil, m); err != nil {
		t.Fatal(err)
	}
	joined, err := s.kernel.Dump(udp.Inode)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := joined.Membership(m.Key()); !ok {
		t.Fatalf("no membership %s after Join: %v", m.Group, joined.Memberships)
	}
}

func TestKernelRefusesMalformedOnTheWire(t *testing.T) {
	s := ktNewSetup(t)
	udp := s.sockets(t)["udp"]
	before, err := s.stock.Dump(udp.Inode)
	if err != nil {
		t.Fatal(err)
	}
	good := before.Encode()
	c := s.sim.Dial()
	defer c.Close()
	unchanged := func(t *testing.T) {
		t.Helper()
		if got := udp.GetInt(unix.IPPROTO_IP, unix.IP_TTL); got != 33 {
			t.Fatalf("ttl %d, want 33", got)
		}
		now, err := s.stock.Dump(udp.Inode)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(good, now.Encode()); diff != "" {
			t.Fatalf("socket changed (-before +after):\n%s", diff)
		}
	}
	ktRunRawCases(t, c, ktRawCases(t, udp.Inode, good), unchanged)

	// A well-formed image of another socket type changes identity, which a
	// restore never does; the errno is the engine's to choose.
	t.Run("identity", func(t *testing.T) {
		other := ktPatch(t, good, image.AttrProtocol, binary.NativeEndian.AppendUint16(nil, unix.IPPROTO_UDPLITE))
		if _, err := ktRaw(c, crsim.FamilyID, crfamily.CmdRestore, netlink.Request|netlink.Acknowledge, slices.Concat(ktInodeAttr(udp.Inode), other)); err == nil {
			t.Fatal("restore of a UDP-Lite image onto a UDP socket succeeded")
		}
		unchanged(t)
	})

	// Through the client, an unknown inode is ENOENT both ways.
	if _, err := s.kernel.Dump(1 << 40); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("Dump of no socket: %v, want ENOENT", err)
	}
	if err := s.kernel.Restore(1<<40, before); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("Restore onto no socket: %v, want ENOENT", err)
	}
}
