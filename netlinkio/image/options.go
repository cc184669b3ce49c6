package image

import (
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind says how an option's value travels: its attribute payload, its text in
// the tree and its getsockopt/setsockopt argument. Each kind has one codec
// (codec.go), so a new option of a known kind is one row of the table below.
type Kind int

const (
	// Flag is an on/off option: a flag attribute (present when on), text 0 or
	// 1, an int argument.
	Flag Kind = iota
	// U8 is an integer option carried as a u8 attribute; the socket call takes
	// an int.
	U8
	// U32 is an integer option carried as a u32 attribute; the socket call
	// takes an int.
	U32
	// BufSize is SO_SNDBUF or SO_RCVBUF: getsockopt reports twice what
	// setsockopt was given, and setting it must not disturb the buffer locks.
	BufSize
	// BufLock is one bit of SO_BUF_LOCK (sk_userlocks): a flag attribute.
	BufLock
	// Micros is a timeout: a u64 attribute and text in microseconds, a struct
	// timeval argument. The kernel holds timeouts in jiffies, up to about
	// 2^63 jiffies: far more microseconds than a u64 holds. A timeout beyond
	// MaxMicros carries its whole seconds in the row's Ext attribute and the
	// microseconds below the second in its own (MicrosValue).
	Micros
	// Linger is struct linger: an 8-byte attribute (l_onoff, l_linger as host
	// order u32), text "ONOFF SECONDS".
	Linger
	// IfName is an interface name: a string attribute of 0 to 15 bytes without
	// a NUL, empty when the socket is bound to no device.
	IfName
	// InAddr is an IPv4 address: a u32 attribute holding the in_addr's four
	// bytes in network order, text dotted-quad.
	InAddr
	// IfIndexBE is IP_UNICAST_IF: a u32 attribute and text holding an ifindex
	// in host order; the socket call takes it in network order.
	IfIndexBE
	// RawOptions is IP_OPTIONS: 0 to 40 bytes, a multiple of 4 as the kernel
	// pads them, text in lowercase hex.
	RawOptions
	// McastIfIndex is the interface index of IP_MULTICAST_IF (inet->mc_index),
	// which getsockopt does not report: a u32 attribute, text in decimal, 0
	// for none. It is set with its With row's address in one struct
	// ip_mreqn.
	McastIfIndex
	// FollowsDefault says the socket follows a system default for its With
	// row's option (IP_TTL: net.ipv4.ip_default_ttl, uc_ttl -1), which
	// getsockopt reports as the default's value: a u8 attribute, text 1
	// (follows) or 0 (a value of its own, its With row's). 1 is set as the
	// row's Follow (IP_TTL -1), 0 as its With row's value.
	FollowsDefault

	// Kinds of the option coverage (issue 14).

	// U64 is an integer carried as a u64 attribute; the socket call takes
	// an unsigned long (SO_MAX_PACING_RATE).
	U64
	// S32 is a signed int (-1 means something: TCP_LINGER2, SO_PEEK_OFF,
	// SO_INCOMING_CPU): a u32 attribute holding its two's complement, text
	// in signed decimal, range SMin to Max.
	S32
	// Name is a name the kernel looks up (TCP_CONGESTION): a string
	// attribute of 1 to 15 bytes without a NUL.
	Name
	// Filter is the classic BPF socket filter (SO_ATTACH_FILTER, read back
	// with SO_GET_FILTER): its struct sock_filter instructions, 8 bytes
	// each, none when no filter is attached; text in lowercase hex. An
	// eBPF filter, which the kernel does not let anyone read back, is the
	// 4-byte payload "ebpf", text ebpf: it cannot be restored.
	Filter
	// Tstamp is SO_TIMESTAMP and SO_TIMESTAMPNS together (one sets or
	// clears the other): a u8 attribute, 0 off, 1 microseconds, 2
	// nanoseconds.
	Tstamp
	// TstampNew is SOCK_TSTAMP_NEW: the timestamping options were set in
	// their _NEW form (64-bit times in control messages). A flag, visible
	// only while a timestamping option is on.
	TstampNew
	// Timestamping is SO_TIMESTAMPING's struct so_timestamping: an 8-byte
	// attribute (flags, bind_phc as host order u32), text "FLAGS", or
	// "FLAGS PHC" with SOF_TIMESTAMPING_BIND_PHC.
	Timestamping
	// TxTime is SO_TXTIME's struct sock_txtime: an 8-byte attribute
	// (clockid, flags as host order u32), text "CLOCKID FLAGS".
	TxTime
	// MSS is TCP_MAXSEG: a u32 attribute. A listener or an unconnected
	// socket reports what it was given (88-32767), else the MSS in use;
	// below 88 that can only be the MSS in use (IP options lower it),
	// which nobody sets: a restore leaves it.
	MSS
	// AddrPrefs is IPV6_ADDR_PREFERENCES: a u32 attribute, text in decimal,
	// one of the forms getsockopt reports (addrprefs.go).
	AddrPrefs
)

// kindInfo is what the image knows of a kind without looking at a row:
// its attribute and, side by side, its codecs (codec.go).
type kindInfo struct {
	size   int    // the attribute's payload length; -1 when it varies
	typ    string // the attribute's type as docs/image-format.md shows it
	flag   bool   // absent from an image when off
	wire   func(b []byte, o *Option, v Value) []byte
	unwire func(payload []byte) Value // of size bytes when size >= 0
	check  func(o *Option, v Value) error
	format func(v Value) string
	parse  func(text string) (v Value, whyNot string)
	text   func(o *Option) string // the file's text as docs/image-format.md says it
}

// kinds holds every Kind's kindInfo, indexed by Kind.
var kinds = [...]kindInfo{
	Flag:           {0, "flag", true, wireFlag, unwireFlag, checkFlag, formatUint, parseNum, textFlag},
	U8:             {1, "u8", false, wireU8, unwireU8, checkRange, formatUint, parseNum, textRange},
	U32:            {4, "u32", false, wireU32, unwireU32, checkRange, formatUint, parseNum, textRange},
	BufSize:        {4, "u32", false, wireU32, unwireU32, checkBufSize, formatUint, parseNum, textEven},
	BufLock:        {0, "flag", true, wireFlag, unwireFlag, checkFlag, formatUint, parseNum, textFlag},
	Micros:         {8, "u64", false, wireU64, unwireU64, checkMicros, formatMicros, parseMicrosText, textMicros},
	Linger:         {8, "binary 8", false, wireLinger, unwireLinger, checkLinger, formatLinger, parseLinger, textLinger},
	IfName:         {-1, "string 0-15", false, wireBytes, unwireBytes, checkIfName, formatBytes, parseBytes, textIfName},
	InAddr:         {4, "u32 (in_addr)", false, wireBytes, unwireBytes, checkInAddr, formatInAddr, parseInAddr, textInAddr},
	IfIndexBE:      {4, "u32", false, wireU32, unwireU32, checkRange, formatUint, parseNum, textRange},
	RawOptions:     {-1, "binary 0-" + strconv.Itoa(MaxIPOptions), false, wireBytes, unwireBytes, checkRawOptions, formatHex, parseHex, textHex},
	McastIfIndex:   {4, "u32", false, wireU32, unwireU32, checkRange, formatUint, parseNum, textRange},
	FollowsDefault: {1, "u8", false, wireU8, unwireU8, checkRange, formatUint, parseNum, textRange},

	U64:          {8, "u64", false, wireU64, unwireU64, checkRange, formatUint, parseNum, textRange},
	S32:          {4, "u32 (s32)", false, wireU32, unwireU32, checkS32, formatS32, parseS32, textS32},
	Name:         {-1, "string 1-15", false, wireBytes, unwireBytes, checkName, formatBytes, parseBytes, textName},
	Filter:       {-1, "binary 0-" + strconv.Itoa(MaxFilterLen*8), false, wireFilter, unwireFilter, checkFilter, formatFilter, parseFilter, textFilter},
	Tstamp:       {1, "u8", false, wireU8, unwireU8, checkRange, formatUint, parseNum, textTstamp},
	TstampNew:    {0, "flag", true, wireFlag, unwireFlag, checkFlag, formatUint, parseNum, textFlag},
	Timestamping: {8, "binary 8", false, wireLinger, unwireLinger, checkTimestamping, formatTimestamping, parseTimestamping, textTimestamping},
	TxTime:       {8, "binary 8", false, wireLinger, unwireLinger, checkTxTime, formatLinger, parseTxTime, textTxTime},
	MSS:          {4, "u32", false, wireU32, unwireU32, checkRange, formatUint, parseNum, textRange},
	AddrPrefs:    {4, "u32", false, wireU32, unwireU32, checkAddrPrefs, formatUint, parseNum, textAddrPrefs},
}

// MinMSS is the least TCP_MAXSEG anyone sets (TCP_MIN_MSS); a socket
// that reports less reports the MSS in use.
const MinMSS = 88

// KernelsOwn reports whether v is a value the kernel reports for the row
// but takes from nobody (an MSS in use below MinMSS): a restore leaves
// the socket's value.
func (o *Option) KernelsOwn(v Value) bool { return o.Kind == MSS && v.Num < MinMSS }

// IsFlag reports whether a value of the kind is left out of an image when
// it is off (Flag, BufLock); every other kind is always present.
func (k Kind) IsFlag() bool { return kinds[k].flag }

// SocketTypes is a set of socket types of each address family that an
// option applies to: an AF_INET6 socket takes some IPv4-level options
// and not others, so a row says both (docs/image-format.md, section 6).
type SocketTypes uint8

const (
	Dgram   SocketTypes = 1 << iota // AF_INET SOCK_DGRAM: UDP and UDP-Lite
	Stream                          // AF_INET SOCK_STREAM: TCP
	Raw                             // AF_INET SOCK_RAW
	Dgram6                          // AF_INET6 SOCK_DGRAM
	Stream6                         // AF_INET6 SOCK_STREAM
	Raw6                            // AF_INET6 SOCK_RAW
	All4    = Dgram | Stream | Raw
	All6    = Dgram6 | Stream6 | Raw6
	All     = All4 | All6 // socket-level options: every inet socket
	NoTCP   = Dgram | Raw | Dgram6 | Raw6
	NoTCP6  = Dgram6 | Raw6
	// IPAll and IPNoTCP are the IPv4-level options' sets: an AF_INET6 UDP
	// or TCP socket takes SOL_IP options (they apply to its v4-mapped
	// traffic), a raw one refuses every one of them (ENOPROTOOPT:
	// rawv6_setsockopt hands SOL_IP to ipv6_setsockopt, which takes it
	// only on a socket that is not raw).
	IPAll   = All4 | Dgram6 | Stream6
	IPNoTCP = Dgram | Raw | Dgram6
)

// Has reports whether the set holds sockets of the address family
// (unix.AF_INET or AF_INET6) and type (unix.SOCK_*).
func (s SocketTypes) Has(family, typ uint16) bool {
	var t SocketTypes
	switch typ {
	case unix.SOCK_DGRAM:
		t = Dgram
	case unix.SOCK_STREAM:
		t = Stream
	case unix.SOCK_RAW:
		t = Raw
	default:
		return false
	}
	switch family {
	case unix.AF_INET:
	case unix.AF_INET6:
		t <<= 3
	default:
		return false
	}
	return s&t != 0
}

// Option is one row of the option table.
type Option struct {
	Name  string // file name: the option's name in lower case without its prefix
	Dir   string // "ipopt", "ip6opt" or "sockopt"
	Attr  uint16 // pinned attribute id (docs/image-format.md)
	Level int    // unix.SOL_SOCKET, unix.IPPROTO_IP or unix.IPPROTO_IPV6
	Opt   int    // getsockopt/setsockopt number
	Force int    // privileged variant used when the plain one would clamp (0: none)
	Mask  int    // BufLock: the bit of SO_BUF_LOCK
	Kind  Kind
	Types SocketTypes // the families and types of sockets the row applies to
	// Keeps lists int options that setting this one changes as a side
	// effect (IP_TOS sets SO_PRIORITY, SO_SNDBUF sets SO_BUF_LOCK, TCP's
	// SO_RCVLOWAT raises SO_RCVBUF); a set puts them back, in order, so
	// every row can be set on its own.
	Keeps []Sockopt
	Min   uint64 // range of accepted values for integer kinds
	Max   uint64
	// Ext is a Micros row's second attribute: the whole seconds of a
	// timeout beyond MaxMicros, present only then (0: none).
	Ext uint16
	// UnboundOnly says the kernel takes a change only while the socket
	// is unbound (IPV6_V6ONLY): a restore refuses, before it changes
	// anything, to change it on a bound socket.
	UnboundOnly bool
	// Since is the table revision that added the row (0 means 1; see
	// TableRevision).
	Since uint32
	// Field is the kernel field the exact reader takes the value from
	// (netlinkio/exact): "STRUCT.FIELD", or "STRUCT.WORD:ENUM" for one bit
	// of a flags word, the bit's number looked up by name in the kernel's
	// BTF.
	Field string
	// ExactOnly marks a value getsockopt cannot read: the stock reader
	// leaves it out of its images, and an image without it leaves the
	// socket's value as it is on restore (Knows).
	ExactOnly bool
	// With is the row whose option call this row shares: both are set in
	// one call (IP_MULTICAST_IF's struct ip_mreqn carries address and
	// index; IP_TTL -1 means "follow the default"). A restore that knows
	// this row sets the two together; a write of the With row alone drops
	// this one from what is wanted, so the kernel decides it as it does for
	// a plain setsockopt.
	With uint16
	// Follow is what a FollowsDefault row's option is set to for "follow
	// the default": IP_TTL and IPV6_UNICAST_HOPS -1, TCP_LINGER2 0.
	Follow int
	// SMin is an S32 row's least value (Max its greatest).
	SMin int64
	// OneWay marks an option the kernel lets nobody turn off again
	// (SO_LOCK_FILTER): a restore sets it after every other step, and
	// refuses an image that has it off for a socket that has it on.
	OneWay bool
	// LockedBy is the OneWay row that, while on, forbids changing this one
	// (0: none); a restore that would is refused before anything changes.
	LockedBy uint16
	// Shadow is the row this one shows another view of (SO_BINDTOIFINDEX
	// beside SO_BINDTODEVICE; 0: none). A restore that changes the shadow
	// row leaves this one to follow it: an interface's name means the same
	// in another namespace, its index does not.
	Shadow uint16
	Doc    string
}

// Sockopt names a socket option by level and number.
type Sockopt struct{ Level, Opt int }

var (
	keepBufLock  = []Sockopt{{unix.SOL_SOCKET, soBufLock}}
	keepPriority = []Sockopt{{unix.SOL_SOCKET, unix.SO_PRIORITY}}
	// TCP's SO_RCVLOWAT raises SO_RCVBUF to hold that many bytes
	// (tcp_set_rcvlowat) unless SOCK_RCVBUF_LOCK is set; putting the size
	// back through SO_RCVBUF sets the lock, so the lock is put back after.
	keepRcvbuf = []Sockopt{{unix.SOL_SOCKET, unix.SO_RCVBUF}, {unix.SOL_SOCKET, soBufLock}}
)

// Constants that golang.org/x/sys/unix does not name.
const (
	soBufLock       = 0x48 // SO_BUF_LOCK, Linux 5.14
	sockSndbufLock  = 1    // SOCK_SNDBUF_LOCK
	sockRcvbufLock  = 2    // SOCK_RCVBUF_LOCK
	maxTimeoutMicro = MaxMicros

	udpliteSendCscov = 10 // UDPLITE_SEND_CSCOV
	udpliteRecvCscov = 11 // UDPLITE_RECV_CSCOV
	ipv6FlowInfo     = 11 // IPV6_FLOWINFO
	ipv6FlowInfoSend = 33 // IPV6_FLOWINFO_SEND
)

// MaxFilterLen is the most instructions a classic BPF filter has
// (BPF_MAXINSNS).
const MaxFilterLen = 4096

// MaxMicros is the longest timeout a Micros attribute holds on its own, in
// microseconds (about 292,000 years); a longer one takes the row's Ext
// attribute too.
const MaxMicros = 1<<63 - 1

// MaxTimeoutSec is the most whole seconds of a timeout: tv_sec is a signed
// 64-bit number. The kernel keeps less (MAX_SCHEDULE_TIMEOUT jiffies, and
// a tv_sec from LONG_MAX/HZ - 1 up means no timeout at all).
const MaxTimeoutSec = 1<<63 - 1

// MicrosValue is the Micros value of a struct timeval (usec below 1e6):
// Num the microseconds while they are at most MaxMicros, otherwise Num the
// microseconds below the second and Num2 the seconds.
func MicrosValue(sec, usec uint64) Value {
	if sec <= (MaxMicros-usec)/1e6 {
		return Value{Num: sec*1e6 + usec}
	}
	return Value{Num: usec, Num2: sec}
}

// Timeval returns a Micros value as whole seconds and microseconds.
func (v Value) Timeval() (sec, usec uint64) {
	if v.Num2 == 0 {
		return v.Num / 1e6, v.Num % 1e6
	}
	return v.Num2, v.Num
}

// MaxIPOptions is the most bytes of IP options a socket holds.
const MaxIPOptions = 40

// Options is the option table. Its order is the canonical order of the
// image's attributes and the order in which a restore applies them.
var Options = []Option{
	{Name: "reuseaddr", Dir: "sockopt", Attr: 9, Level: unix.SOL_SOCKET, Opt: unix.SO_REUSEADDR, Kind: Flag, Types: All, Field: "sock_common.skc_reuse", Doc: "SO_REUSEADDR"},
	{Name: "reuseport", Dir: "sockopt", Attr: 10, Level: unix.SOL_SOCKET, Opt: unix.SO_REUSEPORT, Kind: Flag, Types: All, Field: "sock_common.skc_reuseport", Doc: "SO_REUSEPORT"},
	{Name: "keepalive", Dir: "sockopt", Attr: 11, Level: unix.SOL_SOCKET, Opt: unix.SO_KEEPALIVE, Kind: Flag, Types: All, Field: "sock_common.skc_flags:SOCK_KEEPOPEN", Doc: "SO_KEEPALIVE"},
	{Name: "broadcast", Dir: "sockopt", Attr: 12, Level: unix.SOL_SOCKET, Opt: unix.SO_BROADCAST, Kind: Flag, Types: All, Field: "sock_common.skc_flags:SOCK_BROADCAST", Doc: "SO_BROADCAST"},
	{Name: "dontroute", Dir: "sockopt", Attr: 13, Level: unix.SOL_SOCKET, Opt: unix.SO_DONTROUTE, Kind: Flag, Types: All, Field: "sock_common.skc_flags:SOCK_LOCALROUTE", Doc: "SO_DONTROUTE"},
	{Name: "oobinline", Dir: "sockopt", Attr: 14, Level: unix.SOL_SOCKET, Opt: unix.SO_OOBINLINE, Kind: Flag, Types: All, Field: "sock_common.skc_flags:SOCK_URGINLINE", Doc: "SO_OOBINLINE"},
	{Name: "no_check", Dir: "sockopt", Attr: 15, Level: unix.SOL_SOCKET, Opt: unix.SO_NO_CHECK, Kind: Flag, Types: All, Field: "sock.sk_no_check_tx", Doc: "SO_NO_CHECK"},
	{Name: "priority", Dir: "sockopt", Attr: 16, Level: unix.SOL_SOCKET, Opt: unix.SO_PRIORITY, Kind: U32, Types: All, Max: 1<<32 - 1, Field: "sock.sk_priority", Doc: "SO_PRIORITY; above 6 needs CAP_NET_ADMIN"},
	{Name: "rcvlowat", Dir: "sockopt", Attr: 17, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVLOWAT, Kind: U32, Types: All, Keeps: keepRcvbuf, Min: 1, Max: 1<<31 - 1, Field: "sock.sk_rcvlowat", Doc: "SO_RCVLOWAT"},
	{Name: "sndbuf", Dir: "sockopt", Attr: 18, Level: unix.SOL_SOCKET, Opt: unix.SO_SNDBUF, Force: unix.SO_SNDBUFFORCE, Kind: BufSize, Types: All, Keeps: keepBufLock, Min: 2, Max: 1<<31 - 2, Field: "sock.sk_sndbuf", Doc: "SO_SNDBUF as getsockopt reports it (twice the size asked for)"},
	{Name: "rcvbuf", Dir: "sockopt", Attr: 19, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVBUF, Force: unix.SO_RCVBUFFORCE, Kind: BufSize, Types: All, Keeps: keepBufLock, Min: 2, Max: 1<<31 - 2, Field: "sock.sk_rcvbuf", Doc: "SO_RCVBUF as getsockopt reports it (twice the size asked for)"},
	{Name: "sndbuf_ulock", Dir: "sockopt", Attr: 20, Level: unix.SOL_SOCKET, Opt: soBufLock, Mask: sockSndbufLock, Kind: BufLock, Types: All, Field: "sock.sk_userlocks", Doc: "SOCK_SNDBUF_LOCK of SO_BUF_LOCK: the send buffer size was set by the user"},
	{Name: "rcvbuf_ulock", Dir: "sockopt", Attr: 21, Level: unix.SOL_SOCKET, Opt: soBufLock, Mask: sockRcvbufLock, Kind: BufLock, Types: All, Field: "sock.sk_userlocks", Doc: "SOCK_RCVBUF_LOCK of SO_BUF_LOCK: the receive buffer size was set by the user"},
	{Name: "rcvtimeo", Dir: "sockopt", Attr: 22, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVTIMEO, Kind: Micros, Types: All, Max: maxTimeoutMicro, Ext: 27, Field: "sock.sk_rcvtimeo", Doc: "SO_RCVTIMEO in microseconds, 0 for none"},
	{Name: "sndtimeo", Dir: "sockopt", Attr: 23, Level: unix.SOL_SOCKET, Opt: unix.SO_SNDTIMEO, Kind: Micros, Types: All, Max: maxTimeoutMicro, Ext: 28, Field: "sock.sk_sndtimeo", Doc: "SO_SNDTIMEO in microseconds, 0 for none"},
	{Name: "linger", Dir: "sockopt", Attr: 24, Level: unix.SOL_SOCKET, Opt: unix.SO_LINGER, Kind: Linger, Types: All, Max: 1<<32 - 1, Field: "sock.sk_lingertime", Doc: "SO_LINGER as \"ONOFF SECONDS\"; the kernel keeps l_linger as an unsigned int, so -1 reads 4294967295"},
	{Name: "bindtodevice", Dir: "sockopt", Attr: 25, Level: unix.SOL_SOCKET, Opt: unix.SO_BINDTODEVICE, Kind: IfName, Types: All, Field: "sock_common.skc_bound_dev_if", Doc: "SO_BINDTODEVICE: an interface name, empty for none"},
	{Name: "mark", Dir: "sockopt", Attr: 26, Level: unix.SOL_SOCKET, Opt: unix.SO_MARK, Kind: U32, Types: All, Max: 1<<32 - 1, Field: "sock.sk_mark", Doc: "SO_MARK; needs CAP_NET_ADMIN"},

	// Option coverage (issue 14), socket level: ids 29-39, then 100-139.
	{Name: "debug", Dir: "sockopt", Attr: 29, Level: unix.SOL_SOCKET, Opt: unix.SO_DEBUG, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_DBG", Doc: "SO_DEBUG; on needs CAP_NET_ADMIN"},
	{Name: "filter", Dir: "sockopt", Attr: 30, Level: unix.SOL_SOCKET, Opt: unix.SO_ATTACH_FILTER, Kind: Filter, Types: All, LockedBy: 31, Since: 2, Field: "sock.sk_filter", Doc: "the classic BPF socket filter (SO_ATTACH_FILTER, read with SO_GET_FILTER) as struct sock_filter instructions in lowercase hex, empty for none; ebpf for an eBPF filter, which cannot be read back or restored"},
	{Name: "lock_filter", Dir: "sockopt", Attr: 31, Level: unix.SOL_SOCKET, Opt: unix.SO_LOCK_FILTER, Kind: Flag, Types: All, OneWay: true, Since: 2, Field: "sock_common.skc_flags:SOCK_FILTER_LOCKED", Doc: "SO_LOCK_FILTER: the filter can no longer be changed, and this lock never comes off; a restore sets it last"},
	{Name: "timestamp", Dir: "sockopt", Attr: 32, Level: unix.SOL_SOCKET, Opt: unix.SO_TIMESTAMP_OLD, Kind: Tstamp, Types: All, Max: 2, Since: 2, Field: "sock_common.skc_flags:SOCK_RCVTSTAMP", Doc: "SO_TIMESTAMP (1, microseconds) or SO_TIMESTAMPNS (2, nanoseconds) receive timestamps, 0 for none"},
	{Name: "timestamping", Dir: "sockopt", Attr: 33, Level: unix.SOL_SOCKET, Opt: unix.SO_TIMESTAMPING_OLD, Kind: Timestamping, Types: All, Since: 2, Field: "sock.sk_tsflags", Doc: "SO_TIMESTAMPING: the SOF_TIMESTAMPING_* flags, then the PHC index when SOF_TIMESTAMPING_BIND_PHC is set (struct so_timestamping)"},
	{Name: "tstamp_new", Dir: "sockopt", Attr: 34, Level: unix.SOL_SOCKET, Opt: unix.SO_TIMESTAMPING_NEW, Kind: TstampNew, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_TSTAMP_NEW", Doc: "the timestamping options were set in their _NEW form (SO_TIMESTAMP_NEW, ...: 64-bit times in control messages); 1 needs timestamp or timestamping on"},
	{Name: "txtime", Dir: "sockopt", Attr: 35, Level: unix.SOL_SOCKET, Opt: unix.SO_TXTIME, Kind: TxTime, Types: All, Since: 2, Field: "sock.sk_clockid", Doc: "SO_TXTIME as \"CLOCKID FLAGS\" (struct sock_txtime); a clock other than CLOCK_MONOTONIC (1) needs CAP_NET_ADMIN"},
	{Name: "rcvmark", Dir: "sockopt", Attr: 36, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVMARK, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_RCVMARK", Doc: "SO_RCVMARK"},
	{Name: "busy_poll", Dir: "sockopt", Attr: 37, Level: unix.SOL_SOCKET, Opt: unix.SO_BUSY_POLL, Kind: U32, Types: All, Max: 1<<31 - 1, Since: 2, Field: "sock.sk_ll_usec", Doc: "SO_BUSY_POLL in microseconds"},
	{Name: "prefer_busy_poll", Dir: "sockopt", Attr: 38, Level: unix.SOL_SOCKET, Opt: unix.SO_PREFER_BUSY_POLL, Kind: Flag, Types: All, Since: 2, Field: "sock.sk_prefer_busy_poll", Doc: "SO_PREFER_BUSY_POLL; on needs CAP_NET_ADMIN"},
	{Name: "incoming_cpu", Dir: "sockopt", Attr: 39, Level: unix.SOL_SOCKET, Opt: unix.SO_INCOMING_CPU, Kind: S32, Types: All, SMin: -1 << 31, Max: 1<<31 - 1, Since: 2, Field: "sock_common.skc_incoming_cpu", Doc: "SO_INCOMING_CPU, -1 for none"},

	{Name: "options", Dir: "ipopt", Attr: 40, Level: unix.IPPROTO_IP, Opt: unix.IP_OPTIONS, Kind: RawOptions, Types: IPAll, Field: "inet_sock.inet_opt", Doc: "IP_OPTIONS as lowercase hex, empty when none"},
	{Name: "pktinfo", Dir: "ipopt", Attr: 41, Level: unix.IPPROTO_IP, Opt: unix.IP_PKTINFO, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_PKTINFO", Doc: "IP_PKTINFO"},
	{Name: "recvtos", Dir: "ipopt", Attr: 42, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVTOS, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_TOS", Doc: "IP_RECVTOS"},
	{Name: "recvttl", Dir: "ipopt", Attr: 43, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVTTL, Kind: Flag, Types: IPAll, Field: "inet_sock.inet_flags:INET_FLAGS_TTL", Doc: "IP_RECVTTL"},
	{Name: "recvopts", Dir: "ipopt", Attr: 44, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVOPTS, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_RECVOPTS", Doc: "IP_RECVOPTS"},
	{Name: "retopts", Dir: "ipopt", Attr: 45, Level: unix.IPPROTO_IP, Opt: unix.IP_RETOPTS, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_RETOPTS", Doc: "IP_RETOPTS (the seed's RECVRETOPTS)"},
	{Name: "tos", Dir: "ipopt", Attr: 46, Level: unix.IPPROTO_IP, Opt: unix.IP_TOS, Kind: U8, Types: IPAll, Keeps: keepPriority, Max: 255, Field: "inet_sock.tos", Doc: "IP_TOS"},
	{Name: "ttl", Dir: "ipopt", Attr: 47, Level: unix.IPPROTO_IP, Opt: unix.IP_TTL, Kind: U8, Types: IPAll, Min: 1, Max: 255, Field: "inet_sock.uc_ttl", Doc: "IP_TTL"},
	{Name: "hdrincl", Dir: "ipopt", Attr: 48, Level: unix.IPPROTO_IP, Opt: unix.IP_HDRINCL, Kind: Flag, Types: Raw, Field: "inet_sock.inet_flags:INET_FLAGS_HDRINCL", Doc: "IP_HDRINCL"},
	{Name: "recverr", Dir: "ipopt", Attr: 49, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVERR, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_RECVERR", Doc: "IP_RECVERR"},
	{Name: "mtu_discover", Dir: "ipopt", Attr: 50, Level: unix.IPPROTO_IP, Opt: unix.IP_MTU_DISCOVER, Kind: U8, Types: IPAll, Max: unix.IP_PMTUDISC_OMIT, Field: "inet_sock.pmtudisc", Doc: "IP_MTU_DISCOVER: 0 dont, 1 want, 2 do, 3 probe, 4 interface, 5 omit"},
	{Name: "router_alert", Dir: "ipopt", Attr: 51, Level: unix.IPPROTO_IP, Opt: unix.IP_ROUTER_ALERT, Kind: Flag, Types: Raw, Field: "inet_sock.inet_flags:INET_FLAGS_RTALERT", Doc: "IP_ROUTER_ALERT"},
	{Name: "multicast_ttl", Dir: "ipopt", Attr: 52, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_TTL, Kind: U8, Types: IPNoTCP, Max: 255, Field: "inet_sock.mc_ttl", Doc: "IP_MULTICAST_TTL"},
	{Name: "multicast_loop", Dir: "ipopt", Attr: 53, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_LOOP, Kind: Flag, Types: IPAll, Field: "inet_sock.inet_flags:INET_FLAGS_MC_LOOP", Doc: "IP_MULTICAST_LOOP"},
	{Name: "multicast_if", Dir: "ipopt", Attr: 56, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_IF, Kind: InAddr, Types: IPNoTCP, Field: "inet_sock.mc_addr", Doc: "IP_MULTICAST_IF: a local address, 0.0.0.0 for the default"},
	{Name: "freebind", Dir: "ipopt", Attr: 57, Level: unix.IPPROTO_IP, Opt: unix.IP_FREEBIND, Kind: Flag, Types: All4, Field: "inet_sock.inet_flags:INET_FLAGS_FREEBIND", Doc: "IP_FREEBIND"},
	{Name: "transparent", Dir: "ipopt", Attr: 58, Level: unix.IPPROTO_IP, Opt: unix.IP_TRANSPARENT, Kind: Flag, Types: All4, Field: "inet_sock.inet_flags:INET_FLAGS_TRANSPARENT", Doc: "IP_TRANSPARENT; needs CAP_NET_ADMIN or CAP_NET_RAW"},
	{Name: "bind_address_no_port", Dir: "ipopt", Attr: 59, Level: unix.IPPROTO_IP, Opt: unix.IP_BIND_ADDRESS_NO_PORT, Kind: Flag, Types: IPAll, Field: "inet_sock.inet_flags:INET_FLAGS_BIND_ADDRESS_NO_PORT", Doc: "IP_BIND_ADDRESS_NO_PORT"},
	{Name: "recvorigdstaddr", Dir: "ipopt", Attr: 60, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVORIGDSTADDR, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_ORIGDSTADDR", Doc: "IP_RECVORIGDSTADDR"},
	{Name: "multicast_all", Dir: "ipopt", Attr: 61, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_ALL, Kind: Flag, Types: IPNoTCP, Field: "inet_sock.inet_flags:INET_FLAGS_MC_ALL", Doc: "IP_MULTICAST_ALL (on by default)"},
	{Name: "nodefrag", Dir: "ipopt", Attr: 62, Level: unix.IPPROTO_IP, Opt: unix.IP_NODEFRAG, Kind: Flag, Types: Raw, Field: "inet_sock.inet_flags:INET_FLAGS_NODEFRAG", Doc: "IP_NODEFRAG"},
	{Name: "minttl", Dir: "ipopt", Attr: 63, Level: unix.IPPROTO_IP, Opt: unix.IP_MINTTL, Kind: U8, Types: IPAll, Max: 255, Field: "inet_sock.min_ttl", Doc: "IP_MINTTL"},
	{Name: "unicast_if", Dir: "ipopt", Attr: 64, Level: unix.IPPROTO_IP, Opt: unix.IP_UNICAST_IF, Kind: IfIndexBE, Types: IPNoTCP, Max: 1<<31 - 1, Field: "inet_sock.uc_index", Doc: "IP_UNICAST_IF: an ifindex, 0 for none"},

	// The exact reader (issue 11, attributes 70-89): values getsockopt
	// cannot see, which only the exact reader's images carry.
	{Name: "multicast_ifindex", Dir: "ipopt", Attr: 70, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_IF, Kind: McastIfIndex, Types: Dgram | Raw, Max: 1<<31 - 1, With: 56, ExactOnly: true, Since: 2, Field: "inet_sock.mc_index", Doc: "the interface of IP_MULTICAST_IF, chosen by index (struct ip_mreqn's imr_ifindex), 0 for none; set together with multicast_if in one ip_mreqn"},
	{Name: "ttl_default", Dir: "ipopt", Attr: 71, Level: unix.IPPROTO_IP, Opt: unix.IP_TTL, Kind: FollowsDefault, Types: All4, Max: 1, With: 47, Follow: -1, ExactOnly: true, Since: 2, Field: "inet_sock.uc_ttl", Doc: "1: the socket follows net.ipv4.ip_default_ttl (IP_TTL -1; ttl shows the default's value), 0: ttl is its own"},

	{Name: "zerocopy", Dir: "sockopt", Attr: 100, Level: unix.SOL_SOCKET, Opt: unix.SO_ZEROCOPY, Kind: Flag, Types: Dgram | Stream | Dgram6 | Stream6, Since: 2, Field: "sock_common.skc_flags:SOCK_ZEROCOPY", Doc: "SO_ZEROCOPY (TCP and UDP; UDP-Lite refuses it)"},
	{Name: "select_err_queue", Dir: "sockopt", Attr: 101, Level: unix.SOL_SOCKET, Opt: unix.SO_SELECT_ERR_QUEUE, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_SELECT_ERR_QUEUE", Doc: "SO_SELECT_ERR_QUEUE"},
	{Name: "max_pacing_rate", Dir: "sockopt", Attr: 102, Level: unix.SOL_SOCKET, Opt: unix.SO_MAX_PACING_RATE, Kind: U64, Types: All, Max: 1<<64 - 1, Since: 2, Field: "sock.sk_max_pacing_rate", Doc: "SO_MAX_PACING_RATE in bytes per second, 18446744073709551615 for none"},
	{Name: "reserve_mem", Dir: "sockopt", Attr: 103, Level: unix.SOL_SOCKET, Opt: unix.SO_RESERVE_MEM, Kind: U32, Types: All, Max: 1<<31 - 1, Since: 2, Field: "sock.sk_reserved_mem", Doc: "SO_RESERVE_MEM in bytes, whole pages; only where the socket is charged to a memory cgroup"},
	{Name: "bindtoifindex", Dir: "sockopt", Attr: 104, Level: unix.SOL_SOCKET, Opt: unix.SO_BINDTOIFINDEX, Kind: U32, Types: All, Max: 1<<31 - 1, Shadow: 25, Since: 2, Field: "sock_common.skc_bound_dev_if", Doc: "SO_BINDTOIFINDEX: bindtodevice's interface by index, 0 for none; a restore that changes bindtodevice goes by the name"},
	{Name: "peek_off", Dir: "sockopt", Attr: 105, Level: unix.SOL_SOCKET, Opt: unix.SO_PEEK_OFF, Kind: S32, Types: Dgram | Stream | Dgram6 | Stream6, SMin: -1 << 31, Max: 1<<31 - 1, Since: 2, Field: "sock.sk_peek_off", Doc: "SO_PEEK_OFF, -1 for off"},
	{Name: "rxq_ovfl", Dir: "sockopt", Attr: 106, Level: unix.SOL_SOCKET, Opt: unix.SO_RXQ_OVFL, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_RXQ_OVFL", Doc: "SO_RXQ_OVFL"},
	{Name: "wifi_status", Dir: "sockopt", Attr: 107, Level: unix.SOL_SOCKET, Opt: unix.SO_WIFI_STATUS, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_WIFI_STATUS", Doc: "SO_WIFI_STATUS"},
	{Name: "nofcs", Dir: "sockopt", Attr: 108, Level: unix.SOL_SOCKET, Opt: unix.SO_NOFCS, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_NOFCS", Doc: "SO_NOFCS"},
	{Name: "rcvpriority", Dir: "sockopt", Attr: 109, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVPRIORITY, Kind: Flag, Types: All, Since: 2, Field: "sock_common.skc_flags:SOCK_RCVPRIORITY", Doc: "SO_RCVPRIORITY"},
	{Name: "txrehash", Dir: "sockopt", Attr: 110, Level: unix.SOL_SOCKET, Opt: unix.SO_TXREHASH, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "sock.sk_txrehash", Doc: "SO_TXREHASH (net.core.txrehash when never set)"},

	// Option coverage (issue 14), IP level: the IPv4 ranges belong to
	// other work, so these take ids of this work's range, 130-139.
	{Name: "passsec", Dir: "ipopt", Attr: 130, Level: unix.IPPROTO_IP, Opt: unix.IP_PASSSEC, Kind: Flag, Types: IPAll, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_PASSSEC", Doc: "IP_PASSSEC"},
	{Name: "checksum", Dir: "ipopt", Attr: 131, Level: unix.IPPROTO_IP, Opt: unix.IP_CHECKSUM, Kind: Flag, Types: IPAll, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_CHECKSUM", Doc: "IP_CHECKSUM"},
	{Name: "recvfragsize", Dir: "ipopt", Attr: 132, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVFRAGSIZE, Kind: Flag, Types: IPNoTCP, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_RECVFRAGSIZE", Doc: "IP_RECVFRAGSIZE"},
	{Name: "recverr_rfc4884", Dir: "ipopt", Attr: 133, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVERR_RFC4884, Kind: Flag, Types: IPAll, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_RECVERR_RFC4884", Doc: "IP_RECVERR_RFC4884"},
	{Name: "local_port_range", Dir: "ipopt", Attr: 134, Level: unix.IPPROTO_IP, Opt: unix.IP_LOCAL_PORT_RANGE, Kind: U32, Types: IPAll, Max: 1<<32 - 1, Since: 2, Field: "inet_sock.local_port_range", Doc: "IP_LOCAL_PORT_RANGE: the upper port times 65536 plus the lower, 0 for the namespace's range"},

	// Option coverage (issue 14), UDP level (udpopt/): ids 140-169.
	{Name: "cork", Dir: "udpopt", Attr: 140, Level: unix.SOL_UDP, Opt: unix.UDP_CORK, Kind: Flag, Types: Dgram | Dgram6, Since: 2, Field: "udp_sock.udp_flags:UDP_FLAGS_CORK", Doc: "UDP_CORK"},
	{Name: "encap", Dir: "udpopt", Attr: 141, Level: unix.SOL_UDP, Opt: unix.UDP_ENCAP, Kind: U32, Types: Dgram | Dgram6, Max: unix.UDP_ENCAP_L2TPINUDP, Since: 2, Field: "udp_sock.encap_type", Doc: "UDP_ENCAP: 0 none, 2 ESP in UDP, 3 L2TP in UDP (1 the kernel refuses)"},
	{Name: "no_check6_tx", Dir: "udpopt", Attr: 142, Level: unix.SOL_UDP, Opt: unix.UDP_NO_CHECK6_TX, Kind: Flag, Types: Dgram | Dgram6, Since: 2, Field: "udp_sock.udp_flags:UDP_FLAGS_NO_CHECK6_TX", Doc: "UDP_NO_CHECK6_TX"},
	{Name: "no_check6_rx", Dir: "udpopt", Attr: 143, Level: unix.SOL_UDP, Opt: unix.UDP_NO_CHECK6_RX, Kind: Flag, Types: Dgram | Dgram6, Since: 2, Field: "udp_sock.udp_flags:UDP_FLAGS_NO_CHECK6_RX", Doc: "UDP_NO_CHECK6_RX"},
	{Name: "segment", Dir: "udpopt", Attr: 144, Level: unix.SOL_UDP, Opt: unix.UDP_SEGMENT, Kind: U32, Types: Dgram | Dgram6, Max: 65535, Since: 2, Field: "udp_sock.gso_size", Doc: "UDP_SEGMENT: the GSO segment size, 0 for none"},
	{Name: "gro", Dir: "udpopt", Attr: 145, Level: unix.SOL_UDP, Opt: unix.UDP_GRO, Kind: Flag, Types: Dgram | Dgram6, Since: 2, Field: "udp_sock.udp_flags:UDP_FLAGS_GRO_ENABLED", Doc: "UDP_GRO"},
	{Name: "send_cscov", Dir: "udpopt", Attr: 146, Level: unix.SOL_UDP, Opt: udpliteSendCscov, Kind: U32, Types: Dgram | Dgram6, Max: 65535, Since: 2, Field: "udp_sock.pcslen", Doc: "UDPLITE_SEND_CSCOV: 0 (the whole datagram) or 8-65535; UDP-Lite only, always 0 on UDP"},
	{Name: "recv_cscov", Dir: "udpopt", Attr: 147, Level: unix.SOL_UDP, Opt: udpliteRecvCscov, Kind: U32, Types: Dgram | Dgram6, Max: 65535, Since: 2, Field: "udp_sock.pcrlen", Doc: "UDPLITE_RECV_CSCOV: 0 (the whole datagram) or 8-65535; UDP-Lite only, always 0 on UDP"},

	// Option coverage (issue 14), TCP level (tcpopt/): ids 170-229. They
	// hold for unconnected sockets and listeners, which restore reaches.
	{Name: "nodelay", Dir: "tcpopt", Attr: 170, Level: unix.SOL_TCP, Opt: unix.TCP_NODELAY, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "tcp_sock.nonagle&TCP_NAGLE_OFF", Doc: "TCP_NODELAY"},
	{Name: "maxseg", Dir: "tcpopt", Attr: 171, Level: unix.SOL_TCP, Opt: unix.TCP_MAXSEG, Kind: MSS, Types: Stream | Stream6, Max: 65535, Since: 2, Field: "tcp_sock.mss_cache", Doc: "TCP_MAXSEG: what a listener or unconnected socket was given (88-32767), else the MSS in use (536 before a connection, less with IP options, which a restore leaves)"},
	{Name: "cork", Dir: "tcpopt", Attr: 172, Level: unix.SOL_TCP, Opt: unix.TCP_CORK, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "tcp_sock.nonagle&TCP_NAGLE_CORK", Doc: "TCP_CORK"},
	{Name: "keepidle", Dir: "tcpopt", Attr: 173, Level: unix.SOL_TCP, Opt: unix.TCP_KEEPIDLE, Kind: U32, Types: Stream | Stream6, Min: 1, Max: 32767, Since: 2, Field: "tcp_sock.keepalive_time", Doc: "TCP_KEEPIDLE in seconds"},
	{Name: "keepintvl", Dir: "tcpopt", Attr: 174, Level: unix.SOL_TCP, Opt: unix.TCP_KEEPINTVL, Kind: U32, Types: Stream | Stream6, Min: 1, Max: 32767, Since: 2, Field: "tcp_sock.keepalive_intvl", Doc: "TCP_KEEPINTVL in seconds"},
	{Name: "keepcnt", Dir: "tcpopt", Attr: 175, Level: unix.SOL_TCP, Opt: unix.TCP_KEEPCNT, Kind: U32, Types: Stream | Stream6, Min: 1, Max: 127, Since: 2, Field: "tcp_sock.keepalive_probes", Doc: "TCP_KEEPCNT"},
	{Name: "syncnt", Dir: "tcpopt", Attr: 176, Level: unix.SOL_TCP, Opt: unix.TCP_SYNCNT, Kind: U32, Types: Stream | Stream6, Min: 1, Max: 127, Since: 2, Field: "inet_connection_sock.icsk_syn_retries", Doc: "TCP_SYNCNT"},
	{Name: "linger2", Dir: "tcpopt", Attr: 177, Level: unix.SOL_TCP, Opt: unix.TCP_LINGER2, Kind: S32, Types: Stream | Stream6, SMin: -1, Max: 120, Since: 2, Field: "tcp_sock.linger2", Doc: "TCP_LINGER2 in seconds, -1 for no FIN_WAIT2 wait; unset reads net.ipv4.tcp_fin_timeout"},
	{Name: "defer_accept", Dir: "tcpopt", Attr: 178, Level: unix.SOL_TCP, Opt: unix.TCP_DEFER_ACCEPT, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "inet_connection_sock.icsk_accept_queue.rskq_defer_accept", Doc: "TCP_DEFER_ACCEPT in seconds as the kernel rounds it (0, 1, 3, 7, 15, ...)"},
	{Name: "window_clamp", Dir: "tcpopt", Attr: 179, Level: unix.SOL_TCP, Opt: unix.TCP_WINDOW_CLAMP, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "tcp_sock.window_clamp", Doc: "TCP_WINDOW_CLAMP in bytes, 0 for none, else at least 1152"},
	{Name: "quickack", Dir: "tcpopt", Attr: 180, Level: unix.SOL_TCP, Opt: unix.TCP_QUICKACK, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "inet_connection_sock.icsk_ack.pingpong", Doc: "TCP_QUICKACK (on unless delayed acks were asked for)"},
	{Name: "congestion", Dir: "tcpopt", Attr: 181, Level: unix.SOL_TCP, Opt: unix.TCP_CONGESTION, Kind: Name, Types: Stream | Stream6, Since: 2, Field: "inet_connection_sock.icsk_ca_ops", Doc: "TCP_CONGESTION: the algorithm's name; one outside net.ipv4.tcp_allowed_congestion_control needs CAP_NET_ADMIN"},
	{Name: "thin_linear_timeouts", Dir: "tcpopt", Attr: 182, Level: unix.SOL_TCP, Opt: unix.TCP_THIN_LINEAR_TIMEOUTS, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "tcp_sock.thin_lto", Doc: "TCP_THIN_LINEAR_TIMEOUTS"},
	{Name: "user_timeout", Dir: "tcpopt", Attr: 183, Level: unix.SOL_TCP, Opt: unix.TCP_USER_TIMEOUT, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "inet_connection_sock.icsk_user_timeout", Doc: "TCP_USER_TIMEOUT in milliseconds, 0 for the system's"},
	{Name: "fastopen", Dir: "tcpopt", Attr: 184, Level: unix.SOL_TCP, Opt: unix.TCP_FASTOPEN, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "inet_connection_sock.icsk_accept_queue.fastopenq.max_qlen", Doc: "TCP_FASTOPEN: the listener's queue of fast-open requests, 0 for off"},
	{Name: "notsent_lowat", Dir: "tcpopt", Attr: 185, Level: unix.SOL_TCP, Opt: unix.TCP_NOTSENT_LOWAT, Kind: U32, Types: Stream | Stream6, Max: 1<<32 - 1, Since: 2, Field: "tcp_sock.notsent_lowat", Doc: "TCP_NOTSENT_LOWAT in bytes, 0 for net.ipv4.tcp_notsent_lowat"},
	{Name: "save_syn", Dir: "tcpopt", Attr: 186, Level: unix.SOL_TCP, Opt: unix.TCP_SAVE_SYN, Kind: U32, Types: Stream | Stream6, Max: 2, Since: 2, Field: "tcp_sock.save_syn", Doc: "TCP_SAVE_SYN: 0 off, 1 the SYN's IP and TCP headers, 2 with its MAC header"},
	{Name: "fastopen_connect", Dir: "tcpopt", Attr: 187, Level: unix.SOL_TCP, Opt: unix.TCP_FASTOPEN_CONNECT, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "tcp_sock.fastopen_connect", Doc: "TCP_FASTOPEN_CONNECT"},
	{Name: "fastopen_no_cookie", Dir: "tcpopt", Attr: 188, Level: unix.SOL_TCP, Opt: unix.TCP_FASTOPEN_NO_COOKIE, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "tcp_sock.fastopen_no_cookie", Doc: "TCP_FASTOPEN_NO_COOKIE"},
	{Name: "inq", Dir: "tcpopt", Attr: 189, Level: unix.SOL_TCP, Opt: unix.TCP_INQ, Kind: Flag, Types: Stream | Stream6, Since: 2, Field: "tcp_sock.recvmsg_inq", Doc: "TCP_INQ"},
	{Name: "tx_delay", Dir: "tcpopt", Attr: 190, Level: unix.SOL_TCP, Opt: unix.TCP_TX_DELAY, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "tcp_sock.tcp_tx_delay", Doc: "TCP_TX_DELAY in microseconds"},
	{Name: "rto_max_ms", Dir: "tcpopt", Attr: 191, Level: unix.SOL_TCP, Opt: unix.TCP_RTO_MAX_MS, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "inet_connection_sock.icsk_rto_max", Doc: "TCP_RTO_MAX_MS (the kernel takes 1000-120000)"},
	{Name: "rto_min_us", Dir: "tcpopt", Attr: 192, Level: unix.SOL_TCP, Opt: unix.TCP_RTO_MIN_US, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "inet_connection_sock.icsk_rto_min", Doc: "TCP_RTO_MIN_US, in whole jiffies as the kernel keeps it"},
	{Name: "delack_max_us", Dir: "tcpopt", Attr: 193, Level: unix.SOL_TCP, Opt: unix.TCP_DELACK_MAX_US, Kind: U32, Types: Stream | Stream6, Max: 1<<31 - 1, Since: 2, Field: "inet_connection_sock.icsk_delack_max", Doc: "TCP_DELACK_MAX_US, in whole jiffies as the kernel keeps it"},
	{Name: "linger2_default", Dir: "tcpopt", Attr: 194, Level: unix.SOL_TCP, Opt: unix.TCP_LINGER2, Kind: FollowsDefault, Types: Stream | Stream6, Max: 1, With: 177, Follow: 0, ExactOnly: true, Since: 2, Field: "tcp_sock.linger2", Doc: "1: the socket follows net.ipv4.tcp_fin_timeout (TCP_LINGER2 0; linger2 shows the sysctl's value), 0: linger2 is its own"},

	// IPv6 (issue 13): IPV6_* options of AF_INET6 sockets, attributes
	// 230-259 (the memberships are 260-266). Which types take each was
	// checked on the kernel (docs/image-format.md, section 7); the seed's
	// rule holds: what only a datagram socket receives is not on TCP.
	{Name: "unicast_hops", Dir: "ip6opt", Attr: 230, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_UNICAST_HOPS, Kind: U8, Types: All6, Max: 255, Since: 2, Field: "ipv6_pinfo.hop_limit", Doc: "IPV6_UNICAST_HOPS (the default, -1, reads as the route's or the sysctl's hop limit)"},
	{Name: "multicast_hops", Dir: "ip6opt", Attr: 231, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_HOPS, Kind: U8, Types: NoTCP6, Max: 255, Since: 2, Field: "ipv6_pinfo.mcast_hops", Doc: "IPV6_MULTICAST_HOPS"},
	{Name: "multicast_if", Dir: "ip6opt", Attr: 232, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_IF, Kind: U32, Types: NoTCP6, Max: 1<<31 - 1, Since: 2, Field: "ipv6_pinfo.mcast_oif", Doc: "IPV6_MULTICAST_IF: an ifindex, 0 for the default"},
	{Name: "multicast_loop", Dir: "ip6opt", Attr: 233, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_LOOP, Kind: Flag, Types: All6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_MC6_LOOP", Doc: "IPV6_MULTICAST_LOOP (on by default)"},
	{Name: "multicast_all", Dir: "ip6opt", Attr: 234, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_ALL, Kind: Flag, Types: All6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_MC6_ALL", Doc: "IPV6_MULTICAST_ALL (on by default)"},
	{Name: "unicast_if", Dir: "ip6opt", Attr: 235, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_UNICAST_IF, Kind: IfIndexBE, Types: All6, Max: 1<<31 - 1, Since: 2, Field: "ipv6_pinfo.ucast_oif", Doc: "IPV6_UNICAST_IF: an ifindex, 0 for none"},
	{Name: "minhopcount", Dir: "ip6opt", Attr: 236, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MINHOPCOUNT, Kind: U8, Types: All6, Max: 255, Since: 2, Field: "ipv6_pinfo.min_hopcount", Doc: "IPV6_MINHOPCOUNT"},
	{Name: "tclass", Dir: "ip6opt", Attr: 237, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_TCLASS, Kind: U8, Types: All6, Max: 255, Since: 2, Field: "ipv6_pinfo.tclass", Doc: "IPV6_TCLASS"},
	{Name: "v6only", Dir: "ip6opt", Attr: 238, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_V6ONLY, Kind: Flag, Types: Dgram6 | Stream6, UnboundOnly: true, Since: 2, Field: "sock_common.skc_ipv6only", Doc: "IPV6_V6ONLY; the kernel changes it only while the socket is unbound"},
	{Name: "freebind", Dir: "ip6opt", Attr: 239, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_FREEBIND, Kind: Flag, Types: All6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_FREEBIND", Doc: "IPV6_FREEBIND (the same bit as IP_FREEBIND, so ipopt/ has no freebind on AF_INET6)"},
	{Name: "transparent", Dir: "ip6opt", Attr: 240, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_TRANSPARENT, Kind: Flag, Types: All6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_TRANSPARENT", Doc: "IPV6_TRANSPARENT (the same bit as IP_TRANSPARENT); needs CAP_NET_ADMIN or CAP_NET_RAW"},
	{Name: "recvpktinfo", Dir: "ip6opt", Attr: 241, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVPKTINFO, Kind: Flag, Types: NoTCP6, Since: 2, Field: "ipv6_pinfo.rxopt:rxinfo", Doc: "IPV6_RECVPKTINFO"},
	{Name: "recvhoplimit", Dir: "ip6opt", Attr: 242, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVHOPLIMIT, Kind: Flag, Types: All6, Since: 2, Field: "ipv6_pinfo.rxopt:rxhlim", Doc: "IPV6_RECVHOPLIMIT"},
	{Name: "recvtclass", Dir: "ip6opt", Attr: 243, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVTCLASS, Kind: Flag, Types: NoTCP6, Since: 2, Field: "ipv6_pinfo.rxopt:rxtclass", Doc: "IPV6_RECVTCLASS"},
	{Name: "recverr", Dir: "ip6opt", Attr: 244, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVERR, Kind: Flag, Types: NoTCP6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_RECVERR6", Doc: "IPV6_RECVERR"},
	{Name: "recvorigdstaddr", Dir: "ip6opt", Attr: 245, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVORIGDSTADDR, Kind: Flag, Types: NoTCP6, Since: 2, Field: "ipv6_pinfo.rxopt:rxorigdstaddr", Doc: "IPV6_RECVORIGDSTADDR"},
	{Name: "mtu_discover", Dir: "ip6opt", Attr: 246, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MTU_DISCOVER, Kind: U8, Types: All6, Max: unix.IPV6_PMTUDISC_OMIT, Since: 2, Field: "ipv6_pinfo.pmtudisc", Doc: "IPV6_MTU_DISCOVER: 0 dont, 1 want, 2 do, 3 probe, 4 interface, 5 omit"},
	{Name: "dontfrag", Dir: "ip6opt", Attr: 247, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_DONTFRAG, Kind: Flag, Types: All6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_DONTFRAG", Doc: "IPV6_DONTFRAG"},
	{Name: "autoflowlabel", Dir: "ip6opt", Attr: 248, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_AUTOFLOWLABEL, Kind: Flag, Types: All6, Since: 2, Field: "ipv6_pinfo.autoflowlabel", Doc: "IPV6_AUTOFLOWLABEL (unset, it reads as net.ipv6.auto_flowlabels says)"},
	{Name: "addr_preferences", Dir: "ip6opt", Attr: 249, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_ADDR_PREFERENCES, Kind: AddrPrefs, Types: All6, Since: 2, Field: "ipv6_pinfo.srcprefs", Doc: "IPV6_ADDR_PREFERENCES as getsockopt reports it"},
	{Name: "recvrthdr", Dir: "ip6opt", Attr: 250, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVRTHDR, Kind: Flag, Types: All6, Since: 2, Field: "ipv6_pinfo.rxopt:srcrt", Doc: "IPV6_RECVRTHDR"},
	{Name: "recvhopopts", Dir: "ip6opt", Attr: 251, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVHOPOPTS, Kind: Flag, Types: All6, Since: 2, Field: "ipv6_pinfo.rxopt:hopopts", Doc: "IPV6_RECVHOPOPTS"},
	{Name: "recvdstopts", Dir: "ip6opt", Attr: 252, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVDSTOPTS, Kind: Flag, Types: All6, Since: 2, Field: "ipv6_pinfo.rxopt:dstopts", Doc: "IPV6_RECVDSTOPTS"},
	{Name: "recvpathmtu", Dir: "ip6opt", Attr: 253, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVPATHMTU, Kind: Flag, Types: NoTCP6, Since: 2, Field: "ipv6_pinfo.rxopt:rxpmtu", Doc: "IPV6_RECVPATHMTU"},
	{Name: "recvfragsize", Dir: "ip6opt", Attr: 254, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVFRAGSIZE, Kind: Flag, Types: NoTCP6, Since: 2, Field: "ipv6_pinfo.rxopt:recvfragsize", Doc: "IPV6_RECVFRAGSIZE"},
	{Name: "flowinfo", Dir: "ip6opt", Attr: 255, Level: unix.IPPROTO_IPV6, Opt: ipv6FlowInfo, Kind: Flag, Types: All6, Since: 2, Field: "ipv6_pinfo.rxopt:rxflow", Doc: "IPV6_FLOWINFO: receive the flow information"},
	{Name: "flowinfo_send", Dir: "ip6opt", Attr: 256, Level: unix.IPPROTO_IPV6, Opt: ipv6FlowInfoSend, Kind: Flag, Types: All6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_SNDFLOW", Doc: "IPV6_FLOWINFO_SEND: connect and send take sin6_flowinfo (a flow label needs a lease)"},
	{Name: "recverr_rfc4884", Dir: "ip6opt", Attr: 257, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVERR_RFC4884, Kind: Flag, Types: NoTCP6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_RECVERR6_RFC4884", Doc: "IPV6_RECVERR_RFC4884"},
	{Name: "hdrincl", Dir: "ip6opt", Attr: 258, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_HDRINCL, Kind: Flag, Types: Raw6, Since: 2, Field: "inet_sock.inet_flags:INET_FLAGS_HDRINCL", Doc: "IPV6_HDRINCL"},
	{Name: "unicast_hops_default", Dir: "ip6opt", Attr: 268, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_UNICAST_HOPS, Kind: FollowsDefault, Types: All6, Max: 1, With: 230, Follow: -1, ExactOnly: true, Since: 2, Field: "ipv6_pinfo.hop_limit", Doc: "1: the socket follows its route's or net.ipv6.conf.all.hop_limit (IPV6_UNICAST_HOPS -1; unicast_hops shows that value), 0: unicast_hops is its own"},
}

// Attribute ids that are not options (docs/image-format.md).
const (
	AttrVersion    uint16 = 1
	AttrInode      uint16 = 2
	AttrFamily     uint16 = 3
	AttrType       uint16 = 4
	AttrProtocol   uint16 = 5
	AttrState      uint16 = 6
	AttrLocal      uint16 = 7
	AttrPeer       uint16 = 8
	AttrMembership uint16 = 54 // nested: a list of AttrMreq
	AttrMreq       uint16 = 55 // struct ip_mreqn
	// AttrSourceFilters (nested) lists AttrSourceFilter entries, one for
	// each membership whose filter is not the default (EXCLUDE, no sources).
	AttrSourceFilters uint16 = 65
	AttrSourceFilter  uint16 = 66 // nested: AttrMsfMreq, AttrMsfMode, AttrMsfSource...
	AttrMsfMreq       uint16 = 67 // struct ip_mreqn naming the membership
	AttrMsfMode       uint16 = 68 // u32: MCAST_INCLUDE (1) or MCAST_EXCLUDE (0)
	AttrMsfSource     uint16 = 69 // u32 in_addr, repeated, ascending
	// AttrMembershipOrder (flag, table revision 2) says IPOPT_MEMBERSHIP
	// is in join order with exact imr_address values (Image.JoinOrder).
	AttrMembershipOrder uint16 = 72

	// The IPv6 memberships of an AF_INET6 socket, as the IPv4 ones
	// (groups.go): struct ipv6_mreq, in6_addr sources.
	AttrMembership6    uint16 = 260 // nested: a list of AttrMreq6
	AttrMreq6          uint16 = 261 // struct ipv6_mreq
	AttrSourceFilters6 uint16 = 262 // nested: AttrSourceFilter6 entries
	AttrSourceFilter6  uint16 = 263 // nested: AttrMsfMreq6, AttrMsfMode6, AttrMsfSource6...
	AttrMsfMreq6       uint16 = 264 // struct ipv6_mreq naming the membership
	AttrMsfMode6       uint16 = 265 // u32: MCAST_INCLUDE (1) or MCAST_EXCLUDE (0)
	AttrMsfSource6     uint16 = 266 // in6_addr, repeated, ascending
	// AttrMembershipOrder6 (flag) says IP6OPT_MEMBERSHIP is in join
	// order (Image.JoinOrder6), as AttrMembershipOrder says of the IPv4
	// list.
	AttrMembershipOrder6 uint16 = 267
)

// ImageVersion is the only image version there is.
const ImageVersion = 1

// MaxImageSize bounds what a reader accepts, so a huge write cannot exhaust
// memory. It holds the longest socket filter (32 KiB) with the kernel's
// default limits of memberships, or the longest lists without a filter.
const MaxImageSize = 64 << 10

// LookupOption finds a row by directory and file name.
func LookupOption(dir, name string) (*Option, bool) {
	for i := range Options {
		if Options[i].Dir == dir && Options[i].Name == name {
			return &Options[i], true
		}
	}
	return nil, false
}

// optionByAttr finds a row by attribute id.
func optionByAttr(attr uint16) (*Option, bool) {
	for i := range Options {
		if Options[i].Attr == attr {
			return &Options[i], true
		}
	}
	return nil, false
}

// OptionsFor lists the rows that apply to a socket of an address family
// (unix.AF_INET, AF_INET6) and type, in table order. The slice is the
// caller's to change.
func OptionsFor(family, typ uint16) []*Option {
	return slices.Clone(SharedOptionsFor(family, typ))
}

// SharedOptionsFor is OptionsFor without the copy, for the dump and encode
// of every socket: the lists are made once, and callers must not change
// them.
func SharedOptionsFor(family, typ uint16) []*Option {
	if f := familyIndex(family); f >= 0 && int(typ) < len(optionsByType[f]) {
		return optionsByType[f][typ]
	}
	return nil
}

// familyIndex is 0 for AF_INET, 1 for AF_INET6, -1 for anything else.
func familyIndex(family uint16) int {
	switch family {
	case unix.AF_INET:
		return 0
	case unix.AF_INET6:
		return 1
	}
	return -1
}

var optionsByType = byType()

func byType() (by [2][unix.SOCK_RAW + 1][]*Option) {
	for f, family := range []uint16{unix.AF_INET, unix.AF_INET6} {
		for typ := range by[f] {
			for i := range Options {
				if Options[i].Types.Has(family, uint16(typ)) {
					by[f][typ] = append(by[f][typ], &Options[i])
				}
			}
		}
	}
	return by
}

// AttrName names an attribute as docs and errors do: "IPOPT_TTL".
func AttrName(attr uint16) string {
	switch attr {
	case AttrVersion:
		return "VERSION"
	case AttrInode:
		return "INODE"
	case AttrFamily:
		return "FAMILY"
	case AttrType:
		return "TYPE"
	case AttrProtocol:
		return "PROTOCOL"
	case AttrState:
		return "STATE"
	case AttrLocal:
		return "LOCAL"
	case AttrPeer:
		return "PEER"
	case AttrMembership:
		return "IPOPT_MEMBERSHIP"
	case AttrMreq:
		return "IPOPT_MREQ"
	case AttrSourceFilters:
		return "IPOPT_SOURCE_FILTERS"
	case AttrSourceFilter:
		return "IPOPT_SOURCE_FILTER"
	case AttrMsfMreq:
		return "IPOPT_MSF_MREQ"
	case AttrMsfMode:
		return "IPOPT_MSF_MODE"
	case AttrMsfSource:
		return "IPOPT_MSF_SOURCE"
	case AttrTableRevision:
		return "TABLE_REVISION"
	case AttrMembershipOrder:
		return "IPOPT_MEMBERSHIP_ORDER"
	case AttrIfnames:
		return "IFNAMES"
	case AttrIfname:
		return "IFNAME"
	case AttrMembership6:
		return "IP6OPT_MEMBERSHIP"
	case AttrMreq6:
		return "IP6OPT_MREQ"
	case AttrSourceFilters6:
		return "IP6OPT_SOURCE_FILTERS"
	case AttrSourceFilter6:
		return "IP6OPT_SOURCE_FILTER"
	case AttrMsfMreq6:
		return "IP6OPT_MSF_MREQ"
	case AttrMsfMode6:
		return "IP6OPT_MSF_MODE"
	case AttrMsfSource6:
		return "IP6OPT_MSF_SOURCE"
	case AttrMembershipOrder6:
		return "IP6OPT_MEMBERSHIP_ORDER"
	}
	if o, ok := optionByAttr(attr); ok {
		return o.AttrName()
	}
	if o, ok := optionByExt(attr); ok {
		return o.AttrName() + "_SEC"
	}
	return "attribute " + strconv.Itoa(int(attr))
}

// optionByExt finds the Micros row whose Ext attribute is attr.
func optionByExt(attr uint16) (*Option, bool) {
	for i := range Options {
		if Options[i].Ext != 0 && Options[i].Ext == attr {
			return &Options[i], true
		}
	}
	return nil, false
}

// AttrName is the row's attribute name: "SOCKOPT_SNDBUF", "IPOPT_TTL".
func (o *Option) AttrName() string {
	return strings.ToUpper(o.Dir[:len(o.Dir)-3] + "OPT_" + o.Name)
}

// Path is the row's file path below a socket's directory: "ipopt/ttl".
func (o *Option) Path() string { return o.Dir + "/" + o.Name }

// OptionDirs lists the option table's directories ("sockopt", "ipopt",
// ...) in table order, which is the JSON form's order.
func OptionDirs() []string { return slices.Clone(optionDirs) }

var optionDirs = func() (dirs []string) {
	for i := range Options {
		if !slices.Contains(dirs, Options[i].Dir) {
			dirs = append(dirs, Options[i].Dir)
		}
	}
	return dirs
}()

// DirsFor lists the option directories that hold at least one row for a
// socket of a family and type, sorted by name as a directory listing
// shows them.
func DirsFor(family, typ uint16) []string {
	var dirs []string
	for _, o := range SharedOptionsFor(family, typ) {
		if !slices.Contains(dirs, o.Dir) {
			dirs = append(dirs, o.Dir)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// IsOptionDir reports whether name is a directory of the option table.
func IsOptionDir(name string) bool { return slices.Contains(optionDirs, name) }

// WithRow is the row whose option call this row shares (With), or nil.
func (o *Option) WithRow() *Option {
	if o.With == 0 {
		return nil
	}
	w, _ := optionByAttr(o.With)
	return w
}

// Paired is the row that shares this row's option call (whose With is
// this row), or nil.
func (o *Option) Paired() *Option {
	for i := range Options {
		if Options[i].With == o.Attr && Options[i].With != 0 {
			return &Options[i]
		}
	}
	return nil
}
