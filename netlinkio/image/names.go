package image

import (
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// Names of the identity fields, shared by the JSON form and the command
// line.

// TypeName names a socket type: "SOCK_DGRAM", "SOCK_STREAM", "SOCK_RAW".
func TypeName(typ uint16) string {
	switch typ {
	case unix.SOCK_DGRAM:
		return "SOCK_DGRAM"
	case unix.SOCK_STREAM:
		return "SOCK_STREAM"
	case unix.SOCK_RAW:
		return "SOCK_RAW"
	}
	return fmt.Sprintf("type %d", typ)
}

func familyName(f uint16) any {
	if f == unix.AF_INET {
		return "AF_INET"
	}
	return f
}

// protocolNames are the protocols the JSON form names; any other raw
// protocol is written as its number.
var protocolNames = map[uint16]string{
	unix.IPPROTO_UDP:     "udp",
	unix.IPPROTO_UDPLITE: "udplite",
	unix.IPPROTO_TCP:     "tcp",
}

// ProtocolName names a protocol as the JSON form does: "udp", "udplite",
// "tcp", or the protocol's number in decimal.
func ProtocolName(proto uint16) string {
	if n, ok := protocolNames[proto]; ok {
		return n
	}
	return strconv.Itoa(int(proto))
}

func protocolJSON(proto uint16) any {
	if n, ok := protocolNames[proto]; ok {
		return n
	}
	return proto
}

// stateNames are the TCP states as sock_diag numbers them (include/net/tcp_states.h).
var stateNames = [...]string{
	1:  "ESTABLISHED",
	2:  "SYN_SENT",
	3:  "SYN_RECV",
	4:  "FIN_WAIT1",
	5:  "FIN_WAIT2",
	6:  "TIME_WAIT",
	7:  "CLOSE",
	8:  "CLOSE_WAIT",
	9:  "LAST_ACK",
	10: "LISTEN",
	11: "CLOSING",
	12: "NEW_SYN_RECV",
}

// StateName names a sock_diag state: "ESTABLISHED", "CLOSE", "LISTEN", ...;
// a number outside the table is written in decimal.
func StateName(state uint8) string {
	if int(state) < len(stateNames) && stateNames[state] != "" {
		return stateNames[state]
	}
	return strconv.Itoa(int(state))
}

func modeName(mode uint32) string {
	if mode == ModeInclude {
		return "include"
	}
	return "exclude"
}

func addrPortString(ap netip.AddrPort) string {
	if !ap.Addr().IsValid() {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port()).String()
	}
	return ap.String()
}
