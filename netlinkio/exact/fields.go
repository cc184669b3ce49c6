package exact

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/cilium/ebpf/btf"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

var native = binary.NativeEndian

// A row's Field names what the program reads (image.Option.Field):
// "STRUCT.FIELD" is one of the scalars below; "STRUCT.WORD:ENUM" is one
// bit of a flags word, its number the value of ENUM in the kernel's BTF
// (the numbers of enum sock_flags and enum inet_flags differ between
// kernels). A new row that reads a field already here is one row; a new
// field is a line in the program, a field of sock_rec, and a line here.

// scalars reads a field of a record as a signed integer, as getsockopt
// reports it where the kernel's getsockopt does more than read it.
var scalars = map[string]func(e *env, r *record) int64{
	"sock_common.skc_reuse":        func(_ *env, r *record) int64 { return int64(r.SkcReuse) },
	"sock_common.skc_reuseport":    func(_ *env, r *record) int64 { return int64(r.SkcReuseport) },
	"sock_common.skc_bound_dev_if": func(_ *env, r *record) int64 { return int64(r.SkBoundDevIf) },
	"sock.sk_no_check_tx":          func(_ *env, r *record) int64 { return int64(r.SkNoCheckTx) },
	"sock.sk_priority":             func(_ *env, r *record) int64 { return int64(r.SkPriority) },
	"sock.sk_rcvlowat":             func(_ *env, r *record) int64 { return int64(r.SkRcvlowat) },
	"sock.sk_sndbuf":               func(_ *env, r *record) int64 { return int64(r.SkSndbuf) },
	"sock.sk_rcvbuf":               func(_ *env, r *record) int64 { return int64(r.SkRcvbuf) },
	"sock.sk_userlocks":            func(_ *env, r *record) int64 { return int64(r.SkUserlocks) },
	"sock.sk_rcvtimeo":             func(_ *env, r *record) int64 { return r.SkRcvtimeo },
	"sock.sk_sndtimeo":             func(_ *env, r *record) int64 { return r.SkSndtimeo },
	"sock.sk_lingertime":           func(_ *env, r *record) int64 { return int64(r.SkLingertime) },
	"sock.sk_mark":                 func(_ *env, r *record) int64 { return int64(r.SkMark) },
	"inet_sock.tos":                func(_ *env, r *record) int64 { return int64(r.Tos) },
	"inet_sock.uc_ttl":             func(_ *env, r *record) int64 { return int64(r.UcTtl) },
	"inet_sock.pmtudisc":           func(_ *env, r *record) int64 { return int64(r.Pmtudisc) },
	"inet_sock.mc_ttl":             func(_ *env, r *record) int64 { return int64(r.McTtl) },
	"inet_sock.mc_addr":            func(_ *env, r *record) int64 { return int64(r.McAddr) },
	"inet_sock.mc_index":           func(_ *env, r *record) int64 { return int64(r.McIndex) },
	"inet_sock.min_ttl":            func(_ *env, r *record) int64 { return int64(r.MinTtl) },
	"inet_sock.uc_index":           func(_ *env, r *record) int64 { return int64(r.UcIndex) },
	"inet_sock.inet_opt":           func(_ *env, r *record) int64 { return int64(r.OptOptlen) },
	"inet_sock.local_port_range":   func(_ *env, r *record) int64 { return int64(r.LocalPortRange) },
	"sock.sk_max_pacing_rate":      func(_ *env, r *record) int64 { return int64(r.SkMaxPacingRate) },
	"sock.sk_reserved_mem":         func(_ *env, r *record) int64 { return int64(r.SkReservedMem) },
	"sock.sk_peek_off":             func(_ *env, r *record) int64 { return int64(r.SkPeekOff) },
	"sock.sk_txrehash":             func(_ *env, r *record) int64 { return int64(r.SkTxrehash) },
	"sock.sk_ll_usec":              func(_ *env, r *record) int64 { return int64(r.SkLlUsec) },
	"sock.sk_prefer_busy_poll":     func(_ *env, r *record) int64 { return int64(r.SkPreferBusyPoll) },
	"sock_common.skc_incoming_cpu": func(_ *env, r *record) int64 { return int64(r.SkIncomingCpu) },
	"sock.sk_tsflags":              func(_ *env, r *record) int64 { return int64(r.SkTsflags) },
	"sock.sk_clockid":              func(_ *env, r *record) int64 { return int64(r.SkClockid) },
	"sock.sk_filter":               func(_ *env, r *record) int64 { return int64(r.Filter) },
	"udp_sock.encap_type":          func(_ *env, r *record) int64 { return int64(r.EncapType) },
	"udp_sock.gso_size":            func(_ *env, r *record) int64 { return int64(r.GsoSize) },
	"udp_sock.pcslen":              func(_ *env, r *record) int64 { return int64(r.Pcslen) },
	"udp_sock.pcrlen":              func(_ *env, r *record) int64 { return int64(r.Pcrlen) },

	// AF_INET6 (struct ipv6_pinfo, and sock_common's skc_ipv6only).
	"sock_common.skc_ipv6only": func(_ *env, r *record) int64 { return int64(r.V6only) },
	"ipv6_pinfo.hop_limit":     func(_ *env, r *record) int64 { return hopLimit(r, r.HopLimit) },
	"ipv6_pinfo.mcast_hops":    func(_ *env, r *record) int64 { return hopLimit(r, r.McastHops) },
	"ipv6_pinfo.mcast_oif":     func(_ *env, r *record) int64 { return int64(r.McastOif) },
	"ipv6_pinfo.ucast_oif":     func(_ *env, r *record) int64 { return int64(r.UcastOif) },
	"ipv6_pinfo.min_hopcount":  func(_ *env, r *record) int64 { return int64(r.MinHopcount) },
	"ipv6_pinfo.tclass":        func(_ *env, r *record) int64 { return int64(r.Tclass) },
	"ipv6_pinfo.pmtudisc":      func(_ *env, r *record) int64 { return int64(r.Pmtudisc6) },
	"ipv6_pinfo.srcprefs":      func(_ *env, r *record) int64 { return addrPreferences(r.Srcprefs) },
	"ipv6_pinfo.autoflowlabel": autoFlowLabel,
}

func init() {
	for f, get := range tcpScalars { // fields_tcp.go
		scalars[f] = get
	}
}

// texts reads a field that is a name (TCP_CONGESTION's).
var texts = tcpTexts

// follows says whether a field holds its "follow the system default"
// value, which getsockopt shows as the default's value (a FollowsDefault
// row, with the row of the same field showing that value).
var follows = map[string]func(r *record) bool{
	"inet_sock.uc_ttl":     func(r *record) bool { return r.UcTtl < 0 },
	"ipv6_pinfo.hop_limit": func(r *record) bool { return r.HopLimit < 0 },
	"tcp_sock.linger2":     func(r *record) bool { return r.tcp != nil && r.tcp.Linger2 == 0 },
}

// words reads a flags word of a record, and names the BTF enum of its
// bits; a word with no enum is a union of bit-fields (ipv6_pinfo's rxopt:
// the program reads rxopt.all, and each bit's place is its bit-field's
// offset in rxopt.bits, as the kernel's BTF has it).
var words = map[string]struct {
	enum string
	get  func(r *record) uint64
}{
	"sock_common.skc_flags": {"sock_flags", func(r *record) uint64 { return r.SkFlags }},
	"inet_sock.inet_flags":  {"inet_flags", func(r *record) uint64 { return r.InetFlags }},
	"ipv6_pinfo.rxopt":      {"", func(r *record) uint64 { return uint64(r.Rxopt) }},
	"udp_sock.udp_flags":    {"udp_flags", func(r *record) uint64 { return r.UdpFlags }},
}

// bits maps "STRUCT.WORD:ENUM" to the bit's number on the running kernel.
type bits map[string]uint

// resolveBits looks up every flag bit the option table names (and
// SOCK_LINGER, which linger reads) in the kernel's BTF, and checks that
// every row's field is one the reader knows.
func resolveBits(kernel *btf.Spec, raw []byte) (bits, error) {
	b := bits{}
	fields := []string{"sock_common.skc_flags:SOCK_LINGER", autoFlowLabelSet, autoFlowLabelOn, sndFlow, rcvTstamp, rcvTstampNS}
	for i := range image.Options {
		o := &image.Options[i]
		if o.Field != "" { // a row that names none is read with getsockopt (askRows)
			fields = append(fields, o.Field)
		}
		if o.Kind == image.FollowsDefault && follows[o.Field] == nil {
			return nil, &CannotRun{Why: "the reader does not know when " + o.Field + " follows its default"}
		}
	}
	var values map[string]uint64
	for _, f := range fields {
		word, name, isBit := strings.Cut(f, ":")
		if !isBit {
			if scalars[f] == nil && texts[f] == nil {
				return nil, &CannotRun{Why: "the reader does not read " + f}
			}
			continue
		}
		w, ok := words[word]
		if !ok {
			return nil, &CannotRun{Why: "the reader does not read " + word}
		}
		if w.enum == "" {
			v, err := bitfieldPlace(kernel, word, name)
			if err != nil {
				return nil, err
			}
			b[f] = v
			continue
		}
		if values == nil {
			values = enumValues(kernel, raw)
		}
		v, ok := values[w.enum+"."+name]
		if !ok {
			v, ok = values["."+name] // inet_flags is an anonymous enum
		}
		if !ok || v >= 64 {
			return nil, &CannotRun{Why: "the kernel has no flag " + name + " of " + word + " (kernels before 6.6 keep inet_sock's flags as bitfields)"}
		}
		b[f] = uint(v)
	}
	return b, nil
}

// bitfieldPlace is the bit number of the one-bit field name in the union
// word ("STRUCT.MEMBER") of the kernel's BTF: its offset within the
// union, which on a little-endian machine (the program's target, bpfel)
// is its bit in the word read whole.
func bitfieldPlace(kernel *btf.Spec, word, name string) (uint, error) {
	st, member, _ := strings.Cut(word, ".")
	missing := &CannotRun{Why: "the kernel has no bit-field " + name + " of " + word}
	var s *btf.Struct
	if err := kernel.TypeByName(st, &s); err != nil {
		return 0, missing
	}
	for _, m := range s.Members {
		u, ok := btf.UnderlyingType(m.Type).(*btf.Union)
		if m.Name != member || !ok {
			continue
		}
		for _, um := range u.Members {
			inner, ok := btf.UnderlyingType(um.Type).(*btf.Struct)
			if !ok {
				continue
			}
			for _, f := range inner.Members {
				if at := uint(um.Offset + f.Offset); f.Name == name && f.BitfieldSize == 1 && at < uint(u.Size)*8 {
					return at, nil
				}
			}
		}
	}
	return 0, missing
}

// enumValues maps "ENUM.NAME" (".NAME" in an anonymous enum) to its value,
// for every enum of the kernel's BTF (raw, the blob kernel was loaded
// from): those enumIDs finds, else every type's.
func enumValues(kernel *btf.Spec, raw []byte) map[string]uint64 {
	out := map[string]uint64{}
	all := kernel.All()
	if ids, ok := enumIDs(raw); ok {
		all = func(yield func(btf.Type, error) bool) {
			for _, id := range ids {
				if !yield(kernel.TypeByID(id)) {
					return
				}
			}
		}
	}
	for typ, err := range all {
		if err != nil {
			break
		}
		if e, ok := typ.(*btf.Enum); ok {
			for _, v := range e.Values {
				out[e.Name+"."+v.Name] = v.Value
			}
		}
	}
	return out
}

// env is what turning records into images needs besides the record.
type env struct {
	bits   bits
	hz     int64
	ifname func(netns uint64, pid int, ifindex int32) (string, error)

	// rows are the option rows of each family and type with their
	// fields resolved (newEnv), so that an image of a hundred thousand
	// records looks no name up.
	rows                     map[[2]uint16][]row
	tstamp, tstampNS, linger bitRef
}

// row is an option row and the reader of its field.
type row struct {
	*image.Option
	bit    bitRef // a "STRUCT.WORD:ENUM" field
	isBit  bool
	text   func(r *record) []byte
	scalar func(e *env, r *record) int64
}

// bitRef is one bit of a record's flags word.
type bitRef struct {
	word func(r *record) uint64
	n    uint
}

func (b bitRef) on(r *record) bool { return b.word(r)>>b.n&1 != 0 }

func newEnv(b bits, hz int64, ifname func(uint64, int, int32) (string, error)) env {
	e := env{bits: b, hz: hz, ifname: ifname, rows: map[[2]uint16][]row{}}
	e.tstamp, e.tstampNS, e.linger = e.bitRef(rcvTstamp), e.bitRef(rcvTstampNS), e.bitRef(lingerBit)
	for _, family := range []uint16{unix.AF_INET, unix.AF_INET6} {
		for _, typ := range []uint16{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_RAW} {
			var rows []row
			for _, o := range image.SharedOptionsFor(family, typ) {
				if o.Field == "" {
					continue // asked of the socket itself (askRows)
				}
				w := row{Option: o, text: texts[o.Field], scalar: scalars[o.Field]}
				if w.isBit = strings.Contains(o.Field, ":"); w.isBit {
					w.bit = e.bitRef(o.Field)
				}
				rows = append(rows, w)
			}
			e.rows[[2]uint16{family, typ}] = rows
		}
	}
	return e
}

func (e *env) bitRef(field string) bitRef {
	word, _, _ := strings.Cut(field, ":")
	return bitRef{word: words[word].get, n: e.bits[field]}
}

func (e *env) bit(r *record, field string) bool { return e.bitRef(field).on(r) }

// value is the row's value in a record, as getsockopt would report it
// (sock_getsockopt, do_ip_getsockopt), or as the row's kind says for what
// getsockopt cannot see.
func (e *env) value(r *record, o *row) (image.Value, error) {
	switch o.Kind {
	case image.Tstamp: // SO_TIMESTAMPNS (2) sets SOCK_RCVTSTAMP too
		if e.tstampNS.on(r) {
			return image.Value{Num: 2}, nil
		}
		return flagValue(o.bit.on(r)), nil
	case image.TstampNew:
		// SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW or SO_TIMESTAMPING_NEW
		// reads non-zero: SOCK_TSTAMP_NEW, with something on to show it.
		on := e.tstamp.on(r) || e.tstampNS.on(r) || r.SkTsflags != 0
		return flagValue(o.bit.on(r) && on), nil
	case image.Timestamping: // struct so_timestamping
		return image.Value{Num: uint64(r.SkTsflags), Num2: uint64(uint32(r.SkBindPhc))}, nil
	case image.TxTime: // struct sock_txtime: SOF_TXTIME_DEADLINE_MODE 1, SOF_TXTIME_REPORT_ERRORS 2
		return image.Value{Num: uint64(r.SkClockid), Num2: uint64(r.TxtimeFlags)}, nil
	case image.Filter: // as the stock reader's getSockFilter: an eBPF filter is Num 1
		if r.Filter == 2 {
			return image.Value{Num: 1}, nil
		}
		return image.Value{Bytes: append([]byte{}, r.filter...)}, nil
	}
	if o.isBit {
		return flagValue(o.bit.on(r)), nil
	}
	if o.text != nil {
		return image.Value{Bytes: o.text(r)}, nil
	}
	n := o.scalar(e, r)
	switch o.Kind {
	case image.Flag:
		return flagValue(n != 0), nil
	case image.BufLock:
		return flagValue(int(n)&o.Mask != 0), nil
	case image.U64:
		return image.Value{Num: uint64(n)}, nil
	case image.U8, image.U32, image.S32, image.BufSize, image.IfIndexBE, image.McastIfIndex, image.AddrPrefs, image.MSS:
		if o.Attr == ttlAttr && n < 0 {
			n = int64(r.DefaultTtl) // uc_ttl -1 reads as the namespace's default
		}
		return image.Value{Num: uint64(uint32(n))}, nil
	case image.FollowsDefault:
		return flagValue(follows[o.Field](r)), nil
	case image.Micros:
		return e.timeout(n), nil
	case image.Linger:
		on := e.linger.on(r)
		return image.Value{Num: uint64(flagValue(on).Num), Num2: uint64(uint32(uint64(n) / uint64(e.hz)))}, nil
	case image.InAddr:
		a := inAddr(uint32(n)).As4()
		return image.Value{Bytes: a[:]}, nil
	case image.IfName:
		if n == 0 {
			return image.Value{Bytes: []byte{}}, nil
		}
		name, err := e.ifname(r.Netns, int(r.Pid), int32(n))
		if err != nil {
			return image.Value{}, fmt.Errorf("%s: name of ifindex %d: %w", o.AttrName(), n, err)
		}
		return image.Value{Bytes: []byte(name)}, nil
	case image.RawOptions:
		return image.Value{Bytes: ipOptions(r)}, nil
	}
	return image.Value{}, fmt.Errorf("%s: no reader for kind %d", o.AttrName(), o.Kind)
}

// rcvTstampNS is the bit of SO_TIMESTAMPNS, which the timestamp row
// reads as 2.
const (
	rcvTstamp   = "sock_common.skc_flags:SOCK_RCVTSTAMP"
	rcvTstampNS = "sock_common.skc_flags:SOCK_RCVTSTAMPNS"
	lingerBit   = "sock_common.skc_flags:SOCK_LINGER"
)

// ttlAttr is IPOPT_TTL, whose -1 reads as the default.
const ttlAttr = 47

func flagValue(on bool) image.Value {
	if on {
		return image.Value{Num: 1}
	}
	return image.Value{}
}

// timeout is sock_get_timeout: jiffies to a timeval, MAX_SCHEDULE_TIMEOUT
// (LONG_MAX) as none.
func (e *env) timeout(j int64) image.Value {
	if j == math.MaxInt64 || j <= 0 {
		return image.Value{}
	}
	sec := uint64(j / e.hz)
	usec := uint64((j % e.hz) * 1_000_000 / e.hz)
	return image.MicrosValue(sec, usec)
}

// ipOptions is what getsockopt(IP_OPTIONS) returns: the socket's options
// with the changes ip_options_compile made undone (ip_options_undo): the
// source route's first hop put back in front, and record-route and
// timestamp slots filled for a packet taken back out.
func ipOptions(r *record) []byte {
	n := int(r.OptOptlen)
	if n == 0 || n > len(r.OptData) {
		return []byte{}
	}
	opt := append([]byte(nil), r.OptData[:n]...)
	const iphdr = 20
	at := func(off uint8) []byte {
		i := int(off) - iphdr
		if off == 0 || i < 0 || i+3 > len(opt) {
			return nil
		}
		return opt[i:]
	}
	if p := at(r.OptSrr); p != nil && int(p[1]) >= 7 && int(p[1]) <= len(p) {
		copy(p[7:p[1]], p[3:p[1]-4])
		native.PutUint32(p[3:], r.OptFaddr)
	}
	clear4 := func(p []byte) {
		p[2] -= 4
		if i := int(p[2]) - 1; i >= 0 && i+4 <= len(p) {
			clear(p[i : i+4])
		}
	}
	if p := at(r.OptRr); p != nil && r.OptBits&1 != 0 {
		clear4(p)
	}
	if p := at(r.OptTs); p != nil {
		if r.OptBits&2 != 0 {
			clear4(p)
			if p[3]&0xf == 3 { // IPOPT_TS_PRESPEC
				p[2] -= 4
			}
		}
		if r.OptBits&4 != 0 {
			clear4(p)
		}
	}
	return opt
}

// socket is the listing's view of a record.
func (r *record) socket() image.Socket {
	s := image.Socket{
		Inode: r.Inode, Family: r.Family, Type: r.Type, Protocol: r.Protocol, State: r.State,
		Local: r.addrPort(r.Local, r.LocalPort), Peer: r.addrPort(r.Peer, r.PeerPort),
		UID: r.Uid, Netns: r.Netns,
	}
	// A UDP or TCP socket with no port is in no sock_diag table: the
	// tree shows it only to who may see its holders (Socket.Unlisted).
	s.Unlisted = r.Type != unix.SOCK_RAW && r.LocalPort == 0 && s.Local.Addr().IsUnspecified()
	return s
}

func (r *record) addrPort(a [16]byte, port uint16) netip.AddrPort {
	if r.Family == unix.AF_INET6 {
		return netip.AddrPortFrom(netip.AddrFrom16(a), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), port)
}

// handled reports whether the listing shows the socket: AF_INET and
// AF_INET6 UDP, UDP-Lite, TCP and RAW, as the stock listing has them.
func (r *record) handled() bool {
	if r.Family != unix.AF_INET && r.Family != unix.AF_INET6 {
		return false
	}
	switch r.Type {
	case unix.SOCK_DGRAM:
		return r.Protocol == unix.IPPROTO_UDP || r.Protocol == unix.IPPROTO_UDPLITE
	case unix.SOCK_STREAM:
		return r.Protocol == unix.IPPROTO_TCP
	case unix.SOCK_RAW:
		return true
	}
	return false
}

// image makes the socket's image from its record: every row from the
// fields it names, the memberships in join order (the kernel's list
// reversed) with their addresses.
func (e *env) image(r *record) (*image.Image, error) {
	if r.partial {
		return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: fmt.Errorf("the socket's multicast list is longer than the exact reader walks (256 groups, 1024 sources each): %w", unix.E2BIG)}
	}
	if r.isTCP() && r.tcp == nil {
		return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: fmt.Errorf("%w: a TCP socket without its TCP record", errStream)}
	}
	s := r.socket()
	img := &image.Image{Family: s.Family, Type: s.Type, Protocol: s.Protocol, State: s.State, Local: s.Local, Peer: s.Peer}
	if img.Family == unix.AF_INET6 {
		img.Local, img.Peer, img.Flowinfo = e.names6(r)
	}
	if img.Type == unix.SOCK_RAW {
		img.Local = netip.AddrPortFrom(img.Local.Addr(), img.Protocol) // as sock_diag and the stock reader show it
	}
	if img.Type != unix.SOCK_STREAM {
		img.State = datagramState(img.Peer)
	}
	rows := e.rows[[2]uint16{img.Family, img.Type}]
	img.Values = make(map[uint16]image.Value, len(rows))
	for i := range rows {
		o := &rows[i]
		v, err := e.value(r, o)
		if err != nil {
			return nil, &image.OpError{Op: "dump", Inode: r.Inode, Err: err}
		}
		img.Values[o.Attr] = v
	}
	if image.MembershipApplies(img.Family, img.Type) {
		img.Memberships = memberships(r)
		// Each list the socket has is in join order
		// (IPOPT_MEMBERSHIP_ORDER, IP6OPT_MEMBERSHIP_ORDER).
		img.JoinOrder, img.JoinOrder6 = image.GroupFamilies(img.Family, img.Type)
	}
	img.Canonicalize()
	return img, nil
}

// nameInterfaces names every index the image holds, as the socket's
// namespace names it (docs/image-format.md, "Interface names"): once
// every row is in, those asked of the socket (IP6OPT_UNICAST_IF was) too.
func (e *env) nameInterfaces(r *record, img *image.Image) {
	for _, i := range img.Ifindexes() {
		if name, err := e.ifname(r.Netns, int(r.Pid), i); err == nil {
			if img.Ifnames == nil {
				img.Ifnames = map[int32]string{}
			}
			img.Ifnames[i] = name
		}
	}
}

// datagramState is the state the stock reader gives a datagram or raw
// socket: ESTABLISHED when it has a peer, CLOSE otherwise.
func datagramState(peer netip.AddrPort) uint8 {
	if peer.Addr().IsUnspecified() {
		return image.StateClose
	}
	return image.StateEstablished
}

func netipAddrPort(ap netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), port)
}

// askRows lists the rows of a socket type that name no kernel field the
// program reads: the exact reader asks the socket for them with
// getsockopt, on a duplicate (Exact.complete).
func askRows(family, typ uint16) []*image.Option {
	var out []*image.Option
	for _, o := range image.SharedOptionsFor(family, typ) {
		if o.Field == "" {
			out = append(out, o)
		}
	}
	return out
}
