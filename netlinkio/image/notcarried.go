package image

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Uncarried is an option that the kernel answers getsockopt for on an
// inet socket, but that no image carries, and why. The completeness test
// (netlinkio/stock) fails for an option the kernel answers that is
// neither a row of the table nor listed here; docs/options.md shows this
// list.
type Uncarried struct {
	Level, Opt int
	Name       string // the kernel's name: SO_ERROR
	Why        string // read-only, per-packet, connection-only, ...
}

// Reasons an option is not carried.
const (
	whyIdentity   = "identity: the image's FAMILY, TYPE, PROTOCOL or STATE says it, and restore never changes it"
	whyReadOnly   = "read-only: the kernel reports it and takes no value for it"
	whyConnection = "connection-only: it belongs to a peer or a connection, which restore cannot make"
	whyPerPacket  = "per-packet: it describes the last packet or event, not the socket"
	whyRepair     = "TCP repair mode: CAP_NET_ADMIN's switch for checkpoint tools; a restore never leaves a socket in it"
	whyNoop       = "ignored: the kernel accepts it and keeps nothing"
	whySecret     = "a secret: the fast-open key falls back to the namespace's, which a dump would show to the socket's owner"
	whyNotState   = "not socket state: a control channel of a netfilter module"
)

// NotCarried lists every option that a fresh socket answers getsockopt
// for (or refuses with an error other than ENOPROTOOPT, EOPNOTSUPP and
// EINVAL) that the table has no row for.
var NotCarried = []Uncarried{
	{unix.SOL_SOCKET, unix.SO_TYPE, "SO_TYPE", whyIdentity},
	{unix.SOL_SOCKET, unix.SO_ERROR, "SO_ERROR", whyPerPacket + " (the pending error, cleared by reading it)"},
	{unix.SOL_SOCKET, unix.SO_BSDCOMPAT, "SO_BSDCOMPAT", whyNoop},
	{unix.SOL_SOCKET, unix.SO_PEERCRED, "SO_PEERCRED", whyConnection},
	{unix.SOL_SOCKET, unix.SO_SNDLOWAT, "SO_SNDLOWAT", whyReadOnly + " (always 1)"},
	{unix.SOL_SOCKET, unix.SO_PEERNAME, "SO_PEERNAME", whyConnection + " (the image's PEER)"},
	{unix.SOL_SOCKET, unix.SO_ACCEPTCONN, "SO_ACCEPTCONN", whyIdentity},
	{unix.SOL_SOCKET, unix.SO_PROTOCOL, "SO_PROTOCOL", whyIdentity},
	{unix.SOL_SOCKET, unix.SO_DOMAIN, "SO_DOMAIN", whyIdentity},
	{unix.SOL_SOCKET, unix.SO_BPF_EXTENSIONS, "SO_BPF_EXTENSIONS", whyReadOnly + " (what the kernel's BPF offers)"},
	{unix.SOL_SOCKET, unix.SO_MEMINFO, "SO_MEMINFO", whyReadOnly + " (memory counters)"},
	{unix.SOL_SOCKET, unix.SO_INCOMING_NAPI_ID, "SO_INCOMING_NAPI_ID", whyPerPacket},
	{unix.SOL_SOCKET, unix.SO_COOKIE, "SO_COOKIE", whyReadOnly + " (the socket's cookie, its identity)"},
	{unix.SOL_SOCKET, unix.SO_PEERGROUPS, "SO_PEERGROUPS", whyConnection},
	{unix.SOL_SOCKET, unix.SO_NETNS_COOKIE, "SO_NETNS_COOKIE", whyReadOnly + " (the namespace's cookie)"},
	{unix.SOL_SOCKET, unix.SO_PEERPIDFD, "SO_PEERPIDFD", whyConnection},
	{unix.IPPROTO_IP, unix.IP_PKTOPTIONS, "IP_PKTOPTIONS", whyPerPacket},
	{unix.IPPROTO_IP, unix.IP_MTU, "IP_MTU", whyConnection + " (the route's path MTU)"},
	{unix.IPPROTO_IP, unix.IP_PROTOCOL, "IP_PROTOCOL", whyIdentity},
	{unix.IPPROTO_IP, soOriginalDst, "SO_ORIGINAL_DST", whyConnection + " (netfilter's conntrack entry)"},
	{unix.IPPROTO_IP, soIPSet, "SO_IP_SET", whyNotState + " (ipset)"},
	{unix.SOL_TCP, unix.TCP_INFO, "TCP_INFO", whyReadOnly + " (statistics)"},
	{unix.SOL_TCP, unix.TCP_THIN_DUPACK, "TCP_THIN_DUPACK", whyNoop + " (since Linux 4.15)"},
	{unix.SOL_TCP, unix.TCP_REPAIR, "TCP_REPAIR", whyRepair},
	{unix.SOL_TCP, unix.TCP_REPAIR_QUEUE, "TCP_REPAIR_QUEUE", whyRepair},
	{unix.SOL_TCP, unix.TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ", whyRepair},
	{unix.SOL_TCP, unix.TCP_TIMESTAMP, "TCP_TIMESTAMP", whyRepair + " (a clock; its offset is set only in repair mode)"},
	{unix.SOL_TCP, unix.TCP_CC_INFO, "TCP_CC_INFO", whyReadOnly + " (the algorithm's statistics)"},
	{unix.SOL_TCP, unix.TCP_SAVED_SYN, "TCP_SAVED_SYN", whyConnection + " (the SYN a connection came from)"},
	{unix.SOL_TCP, unix.TCP_REPAIR_WINDOW, "TCP_REPAIR_WINDOW", whyRepair},
	{unix.SOL_TCP, unix.TCP_ULP, "TCP_ULP", whyConnection + " (an upper-layer protocol such as tls attaches to an established connection)"},
	{unix.SOL_TCP, unix.TCP_FASTOPEN_KEY, "TCP_FASTOPEN_KEY", whySecret},
	{unix.SOL_TCP, unix.TCP_ZEROCOPY_RECEIVE, "TCP_ZEROCOPY_RECEIVE", whyPerPacket + " (a receive call)"},
	{unix.SOL_TCP, tcpIsMPTCP, "TCP_IS_MPTCP", whyIdentity},
}

// Netfilter's getsockopt numbers at the IP level.
const (
	soOriginalDst = 80 // SO_ORIGINAL_DST
	soIPSet       = 83 // SO_IP_SET
	tcpIsMPTCP    = 43 // TCP_IS_MPTCP
)

// LookupNotCarried finds an option on the not-carried list.
func LookupNotCarried(level, opt int) (Uncarried, bool) {
	for _, u := range NotCarried {
		if u.Level == level && u.Opt == opt {
			return u, true
		}
	}
	return Uncarried{}, false
}

// NotCarriedTable is the list as docs/options.md shows it.
func NotCarriedTable() string {
	var b strings.Builder
	b.WriteString("| option | level | number | why not carried |\n|---|---|---|---|\n")
	for _, u := range NotCarried {
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", u.Name, LevelName(u.Level), u.Opt, u.Why)
	}
	return b.String()
}

// LevelName names a socket option level as docs do.
func LevelName(level int) string {
	switch level {
	case unix.SOL_SOCKET:
		return "SOL_SOCKET"
	case unix.IPPROTO_IP:
		return "SOL_IP"
	case unix.SOL_UDP:
		return "SOL_UDP"
	case unix.SOL_TCP:
		return "SOL_TCP"
	}
	return fmt.Sprint(level)
}

// RevisionRows renders the rows a table revision added as docs/options.md
// shows them: file, attribute, kind, socket types, what it is.
func RevisionRows(rev uint32) string {
	var b strings.Builder
	b.WriteString("| file | id | type | applies to | option |\n|---|---:|---|---|---|\n")
	for i := range Options {
		o := &Options[i]
		if o.since() != rev {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s |\n", o.Path(), o.Attr, kinds[o.Kind].typ, typesText(o.Types), strings.ReplaceAll(o.Doc, "|", `\|`))
	}
	return b.String()
}
