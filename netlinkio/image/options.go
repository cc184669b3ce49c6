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
	Flag:       {0, "flag", true, wireFlag, unwireFlag, checkFlag, formatUint, parseNum, textFlag},
	U8:         {1, "u8", false, wireU8, unwireU8, checkRange, formatUint, parseNum, textRange},
	U32:        {4, "u32", false, wireU32, unwireU32, checkRange, formatUint, parseNum, textRange},
	BufSize:    {4, "u32", false, wireU32, unwireU32, checkBufSize, formatUint, parseNum, textEven},
	BufLock:    {0, "flag", true, wireFlag, unwireFlag, checkFlag, formatUint, parseNum, textFlag},
	Micros:     {8, "u64", false, wireU64, unwireU64, checkMicros, formatMicros, parseMicrosText, textMicros},
	Linger:     {8, "binary 8", false, wireLinger, unwireLinger, checkLinger, formatLinger, parseLinger, textLinger},
	IfName:     {-1, "string 0-15", false, wireBytes, unwireBytes, checkIfName, formatBytes, parseBytes, textIfName},
	InAddr:     {4, "u32 (in_addr)", false, wireBytes, unwireBytes, checkInAddr, formatInAddr, parseInAddr, textInAddr},
	IfIndexBE:  {4, "u32", false, wireU32, unwireU32, checkRange, formatUint, parseNum, textRange},
	RawOptions: {-1, "binary 0-" + strconv.Itoa(MaxIPOptions), false, wireBytes, unwireBytes, checkRawOptions, formatHex, parseHex, textHex},
	AddrPrefs:  {4, "u32", false, wireU32, unwireU32, checkAddrPrefs, formatUint, parseNum, textAddrPrefs},
}

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
	Doc   string
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
	soBufLock        = 0x48 // SO_BUF_LOCK, Linux 5.14
	sockSndbufLock   = 1    // SOCK_SNDBUF_LOCK
	sockRcvbufLock   = 2    // SOCK_RCVBUF_LOCK
	maxTimeoutMicro  = MaxMicros
	ipv6FlowInfo     = 11 // IPV6_FLOWINFO
	ipv6FlowInfoSend = 33 // IPV6_FLOWINFO_SEND
)

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
	{Name: "reuseaddr", Dir: "sockopt", Attr: 9, Level: unix.SOL_SOCKET, Opt: unix.SO_REUSEADDR, Kind: Flag, Types: All, Doc: "SO_REUSEADDR"},
	{Name: "reuseport", Dir: "sockopt", Attr: 10, Level: unix.SOL_SOCKET, Opt: unix.SO_REUSEPORT, Kind: Flag, Types: All, Doc: "SO_REUSEPORT"},
	{Name: "keepalive", Dir: "sockopt", Attr: 11, Level: unix.SOL_SOCKET, Opt: unix.SO_KEEPALIVE, Kind: Flag, Types: All, Doc: "SO_KEEPALIVE"},
	{Name: "broadcast", Dir: "sockopt", Attr: 12, Level: unix.SOL_SOCKET, Opt: unix.SO_BROADCAST, Kind: Flag, Types: All, Doc: "SO_BROADCAST"},
	{Name: "dontroute", Dir: "sockopt", Attr: 13, Level: unix.SOL_SOCKET, Opt: unix.SO_DONTROUTE, Kind: Flag, Types: All, Doc: "SO_DONTROUTE"},
	{Name: "oobinline", Dir: "sockopt", Attr: 14, Level: unix.SOL_SOCKET, Opt: unix.SO_OOBINLINE, Kind: Flag, Types: All, Doc: "SO_OOBINLINE"},
	{Name: "no_check", Dir: "sockopt", Attr: 15, Level: unix.SOL_SOCKET, Opt: unix.SO_NO_CHECK, Kind: Flag, Types: All, Doc: "SO_NO_CHECK"},
	{Name: "priority", Dir: "sockopt", Attr: 16, Level: unix.SOL_SOCKET, Opt: unix.SO_PRIORITY, Kind: U32, Types: All, Max: 1<<32 - 1, Doc: "SO_PRIORITY; above 6 needs CAP_NET_ADMIN"},
	{Name: "rcvlowat", Dir: "sockopt", Attr: 17, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVLOWAT, Kind: U32, Types: All, Keeps: keepRcvbuf, Min: 1, Max: 1<<31 - 1, Doc: "SO_RCVLOWAT"},
	{Name: "sndbuf", Dir: "sockopt", Attr: 18, Level: unix.SOL_SOCKET, Opt: unix.SO_SNDBUF, Force: unix.SO_SNDBUFFORCE, Kind: BufSize, Types: All, Keeps: keepBufLock, Min: 2, Max: 1<<31 - 2, Doc: "SO_SNDBUF as getsockopt reports it (twice the size asked for)"},
	{Name: "rcvbuf", Dir: "sockopt", Attr: 19, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVBUF, Force: unix.SO_RCVBUFFORCE, Kind: BufSize, Types: All, Keeps: keepBufLock, Min: 2, Max: 1<<31 - 2, Doc: "SO_RCVBUF as getsockopt reports it (twice the size asked for)"},
	{Name: "sndbuf_ulock", Dir: "sockopt", Attr: 20, Level: unix.SOL_SOCKET, Opt: soBufLock, Mask: sockSndbufLock, Kind: BufLock, Types: All, Doc: "SOCK_SNDBUF_LOCK of SO_BUF_LOCK: the send buffer size was set by the user"},
	{Name: "rcvbuf_ulock", Dir: "sockopt", Attr: 21, Level: unix.SOL_SOCKET, Opt: soBufLock, Mask: sockRcvbufLock, Kind: BufLock, Types: All, Doc: "SOCK_RCVBUF_LOCK of SO_BUF_LOCK: the receive buffer size was set by the user"},
	{Name: "rcvtimeo", Dir: "sockopt", Attr: 22, Level: unix.SOL_SOCKET, Opt: unix.SO_RCVTIMEO, Kind: Micros, Types: All, Max: maxTimeoutMicro, Ext: 27, Doc: "SO_RCVTIMEO in microseconds, 0 for none"},
	{Name: "sndtimeo", Dir: "sockopt", Attr: 23, Level: unix.SOL_SOCKET, Opt: unix.SO_SNDTIMEO, Kind: Micros, Types: All, Max: maxTimeoutMicro, Ext: 28, Doc: "SO_SNDTIMEO in microseconds, 0 for none"},
	{Name: "linger", Dir: "sockopt", Attr: 24, Level: unix.SOL_SOCKET, Opt: unix.SO_LINGER, Kind: Linger, Types: All, Max: 1<<32 - 1, Doc: "SO_LINGER as \"ONOFF SECONDS\"; the kernel keeps l_linger as an unsigned int, so -1 reads 4294967295"},
	{Name: "bindtodevice", Dir: "sockopt", Attr: 25, Level: unix.SOL_SOCKET, Opt: unix.SO_BINDTODEVICE, Kind: IfName, Types: All, Doc: "SO_BINDTODEVICE: an interface name, empty for none"},
	{Name: "mark", Dir: "sockopt", Attr: 26, Level: unix.SOL_SOCKET, Opt: unix.SO_MARK, Kind: U32, Types: All, Max: 1<<32 - 1, Doc: "SO_MARK; needs CAP_NET_ADMIN"},

	{Name: "options", Dir: "ipopt", Attr: 40, Level: unix.IPPROTO_IP, Opt: unix.IP_OPTIONS, Kind: RawOptions, Types: IPAll, Doc: "IP_OPTIONS as lowercase hex, empty when none"},
	{Name: "pktinfo", Dir: "ipopt", Attr: 41, Level: unix.IPPROTO_IP, Opt: unix.IP_PKTINFO, Kind: Flag, Types: IPNoTCP, Doc: "IP_PKTINFO"},
	{Name: "recvtos", Dir: "ipopt", Attr: 42, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVTOS, Kind: Flag, Types: IPNoTCP, Doc: "IP_RECVTOS"},
	{Name: "recvttl", Dir: "ipopt", Attr: 43, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVTTL, Kind: Flag, Types: IPAll, Doc: "IP_RECVTTL"},
	{Name: "recvopts", Dir: "ipopt", Attr: 44, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVOPTS, Kind: Flag, Types: IPNoTCP, Doc: "IP_RECVOPTS"},
	{Name: "retopts", Dir: "ipopt", Attr: 45, Level: unix.IPPROTO_IP, Opt: unix.IP_RETOPTS, Kind: Flag, Types: IPNoTCP, Doc: "IP_RETOPTS (the seed's RECVRETOPTS)"},
	{Name: "tos", Dir: "ipopt", Attr: 46, Level: unix.IPPROTO_IP, Opt: unix.IP_TOS, Kind: U8, Types: IPAll, Keeps: keepPriority, Max: 255, Doc: "IP_TOS"},
	{Name: "ttl", Dir: "ipopt", Attr: 47, Level: unix.IPPROTO_IP, Opt: unix.IP_TTL, Kind: U8, Types: IPAll, Min: 1, Max: 255, Doc: "IP_TTL"},
	{Name: "hdrincl", Dir: "ipopt", Attr: 48, Level: unix.IPPROTO_IP, Opt: unix.IP_HDRINCL, Kind: Flag, Types: Raw, Doc: "IP_HDRINCL"},
	{Name: "recverr", Dir: "ipopt", Attr: 49, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVERR, Kind: Flag, Types: IPNoTCP, Doc: "IP_RECVERR"},
	{Name: "mtu_discover", Dir: "ipopt", Attr: 50, Level: unix.IPPROTO_IP, Opt: unix.IP_MTU_DISCOVER, Kind: U8, Types: IPAll, Max: unix.IP_PMTUDISC_OMIT, Doc: "IP_MTU_DISCOVER: 0 dont, 1 want, 2 do, 3 probe, 4 interface, 5 omit"},
	{Name: "router_alert", Dir: "ipopt", Attr: 51, Level: unix.IPPROTO_IP, Opt: unix.IP_ROUTER_ALERT, Kind: Flag, Types: Raw, Doc: "IP_ROUTER_ALERT"},
	{Name: "multicast_ttl", Dir: "ipopt", Attr: 52, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_TTL, Kind: U8, Types: IPNoTCP, Max: 255, Doc: "IP_MULTICAST_TTL"},
	{Name: "multicast_loop", Dir: "ipopt", Attr: 53, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_LOOP, Kind: Flag, Types: IPAll, Doc: "IP_MULTICAST_LOOP"},
	{Name: "multicast_if", Dir: "ipopt", Attr: 56, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_IF, Kind: InAddr, Types: IPNoTCP, Doc: "IP_MULTICAST_IF: a local address, 0.0.0.0 for the default"},
	{Name: "freebind", Dir: "ipopt", Attr: 57, Level: unix.IPPROTO_IP, Opt: unix.IP_FREEBIND, Kind: Flag, Types: All4, Doc: "IP_FREEBIND"},
	{Name: "transparent", Dir: "ipopt", Attr: 58, Level: unix.IPPROTO_IP, Opt: unix.IP_TRANSPARENT, Kind: Flag, Types: All4, Doc: "IP_TRANSPARENT; needs CAP_NET_ADMIN or CAP_NET_RAW"},
	{Name: "bind_address_no_port", Dir: "ipopt", Attr: 59, Level: unix.IPPROTO_IP, Opt: unix.IP_BIND_ADDRESS_NO_PORT, Kind: Flag, Types: IPAll, Doc: "IP_BIND_ADDRESS_NO_PORT"},
	{Name: "recvorigdstaddr", Dir: "ipopt", Attr: 60, Level: unix.IPPROTO_IP, Opt: unix.IP_RECVORIGDSTADDR, Kind: Flag, Types: IPNoTCP, Doc: "IP_RECVORIGDSTADDR"},
	{Name: "multicast_all", Dir: "ipopt", Attr: 61, Level: unix.IPPROTO_IP, Opt: unix.IP_MULTICAST_ALL, Kind: Flag, Types: IPNoTCP, Doc: "IP_MULTICAST_ALL (on by default)"},
	{Name: "nodefrag", Dir: "ipopt", Attr: 62, Level: unix.IPPROTO_IP, Opt: unix.IP_NODEFRAG, Kind: Flag, Types: Raw, Doc: "IP_NODEFRAG"},
	{Name: "minttl", Dir: "ipopt", Attr: 63, Level: unix.IPPROTO_IP, Opt: unix.IP_MINTTL, Kind: U8, Types: IPAll, Max: 255, Doc: "IP_MINTTL"},
	{Name: "unicast_if", Dir: "ipopt", Attr: 64, Level: unix.IPPROTO_IP, Opt: unix.IP_UNICAST_IF, Kind: IfIndexBE, Types: IPNoTCP, Max: 1<<31 - 1, Doc: "IP_UNICAST_IF: an ifindex, 0 for none"},

	// IPv6 (issue 13): IPV6_* options of AF_INET6 sockets, attributes
	// 230-259 (the memberships are 260-266). Which types take each was
	// checked on the kernel (docs/image-format.md, section 7); the seed's
	// rule holds: what only a datagram socket receives is not on TCP.
	{Name: "unicast_hops", Dir: "ip6opt", Attr: 230, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_UNICAST_HOPS, Kind: U8, Types: All6, Max: 255, Since: 2, Doc: "IPV6_UNICAST_HOPS (the default, -1, reads as the route's or the sysctl's hop limit)"},
	{Name: "multicast_hops", Dir: "ip6opt", Attr: 231, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_HOPS, Kind: U8, Types: NoTCP6, Max: 255, Since: 2, Doc: "IPV6_MULTICAST_HOPS"},
	{Name: "multicast_if", Dir: "ip6opt", Attr: 232, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_IF, Kind: U32, Types: NoTCP6, Max: 1<<31 - 1, Since: 2, Doc: "IPV6_MULTICAST_IF: an ifindex, 0 for the default"},
	{Name: "multicast_loop", Dir: "ip6opt", Attr: 233, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_LOOP, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_MULTICAST_LOOP (on by default)"},
	{Name: "multicast_all", Dir: "ip6opt", Attr: 234, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MULTICAST_ALL, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_MULTICAST_ALL (on by default)"},
	{Name: "unicast_if", Dir: "ip6opt", Attr: 235, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_UNICAST_IF, Kind: IfIndexBE, Types: All6, Max: 1<<31 - 1, Since: 2, Doc: "IPV6_UNICAST_IF: an ifindex, 0 for none"},
	{Name: "minhopcount", Dir: "ip6opt", Attr: 236, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MINHOPCOUNT, Kind: U8, Types: All6, Max: 255, Since: 2, Doc: "IPV6_MINHOPCOUNT"},
	{Name: "tclass", Dir: "ip6opt", Attr: 237, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_TCLASS, Kind: U8, Types: All6, Max: 255, Since: 2, Doc: "IPV6_TCLASS"},
	{Name: "v6only", Dir: "ip6opt", Attr: 238, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_V6ONLY, Kind: Flag, Types: Dgram6 | Stream6, UnboundOnly: true, Since: 2, Doc: "IPV6_V6ONLY; the kernel changes it only while the socket is unbound"},
	{Name: "freebind", Dir: "ip6opt", Attr: 239, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_FREEBIND, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_FREEBIND (the same bit as IP_FREEBIND, so ipopt/ has no freebind on AF_INET6)"},
	{Name: "transparent", Dir: "ip6opt", Attr: 240, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_TRANSPARENT, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_TRANSPARENT (the same bit as IP_TRANSPARENT); needs CAP_NET_ADMIN or CAP_NET_RAW"},
	{Name: "recvpktinfo", Dir: "ip6opt", Attr: 241, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVPKTINFO, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVPKTINFO"},
	{Name: "recvhoplimit", Dir: "ip6opt", Attr: 242, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVHOPLIMIT, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_RECVHOPLIMIT"},
	{Name: "recvtclass", Dir: "ip6opt", Attr: 243, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVTCLASS, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVTCLASS"},
	{Name: "recverr", Dir: "ip6opt", Attr: 244, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVERR, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVERR"},
	{Name: "recvorigdstaddr", Dir: "ip6opt", Attr: 245, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVORIGDSTADDR, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVORIGDSTADDR"},
	{Name: "mtu_discover", Dir: "ip6opt", Attr: 246, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_MTU_DISCOVER, Kind: U8, Types: All6, Max: unix.IPV6_PMTUDISC_OMIT, Since: 2, Doc: "IPV6_MTU_DISCOVER: 0 dont, 1 want, 2 do, 3 probe, 4 interface, 5 omit"},
	{Name: "dontfrag", Dir: "ip6opt", Attr: 247, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_DONTFRAG, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_DONTFRAG"},
	{Name: "autoflowlabel", Dir: "ip6opt", Attr: 248, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_AUTOFLOWLABEL, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_AUTOFLOWLABEL (unset, it reads as net.ipv6.auto_flowlabels says)"},
	{Name: "addr_preferences", Dir: "ip6opt", Attr: 249, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_ADDR_PREFERENCES, Kind: AddrPrefs, Types: All6, Since: 2, Doc: "IPV6_ADDR_PREFERENCES as getsockopt reports it"},
	{Name: "recvrthdr", Dir: "ip6opt", Attr: 250, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVRTHDR, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_RECVRTHDR"},
	{Name: "recvhopopts", Dir: "ip6opt", Attr: 251, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVHOPOPTS, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_RECVHOPOPTS"},
	{Name: "recvdstopts", Dir: "ip6opt", Attr: 252, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVDSTOPTS, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_RECVDSTOPTS"},
	{Name: "recvpathmtu", Dir: "ip6opt", Attr: 253, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVPATHMTU, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVPATHMTU"},
	{Name: "recvfragsize", Dir: "ip6opt", Attr: 254, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVFRAGSIZE, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVFRAGSIZE"},
	{Name: "flowinfo", Dir: "ip6opt", Attr: 255, Level: unix.IPPROTO_IPV6, Opt: ipv6FlowInfo, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_FLOWINFO: receive the flow information"},
	{Name: "flowinfo_send", Dir: "ip6opt", Attr: 256, Level: unix.IPPROTO_IPV6, Opt: ipv6FlowInfoSend, Kind: Flag, Types: All6, Since: 2, Doc: "IPV6_FLOWINFO_SEND: connect and send take sin6_flowinfo (a flow label needs a lease)"},
	{Name: "recverr_rfc4884", Dir: "ip6opt", Attr: 257, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_RECVERR_RFC4884, Kind: Flag, Types: NoTCP6, Since: 2, Doc: "IPV6_RECVERR_RFC4884"},
	{Name: "hdrincl", Dir: "ip6opt", Attr: 258, Level: unix.IPPROTO_IPV6, Opt: unix.IPV6_HDRINCL, Kind: Flag, Types: Raw6, Since: 2, Doc: "IPV6_HDRINCL"},
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

	// The IPv6 memberships of an AF_INET6 socket, as the IPv4 ones
	// (groups.go): struct ipv6_mreq, in6_addr sources.
	AttrMembership6    uint16 = 260 // nested: a list of AttrMreq6
	AttrMreq6          uint16 = 261 // struct ipv6_mreq
	AttrSourceFilters6 uint16 = 262 // nested: AttrSourceFilter6 entries
	AttrSourceFilter6  uint16 = 263 // nested: AttrMsfMreq6, AttrMsfMode6, AttrMsfSource6...
	AttrMsfMreq6       uint16 = 264 // struct ipv6_mreq naming the membership
	AttrMsfMode6       uint16 = 265 // u32: MCAST_INCLUDE (1) or MCAST_EXCLUDE (0)
	AttrMsfSource6     uint16 = 266 // in6_addr, repeated, ascending
)

// ImageVersion is the only image version there is.
const ImageVersion = 1

// MaxImageSize bounds what a reader accepts, so a huge write cannot exhaust
// memory.
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
