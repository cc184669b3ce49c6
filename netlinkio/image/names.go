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

// SocketKindName names a socket's family and type as errors do:
// "SOCK_DGRAM" for AF_INET (as before there was AF_INET6), "AF_INET6
// SOCK_DGRAM" otherwise.
func SocketKindName(family, typ uint16) string {
	if family == unix.AF_INET {
		return TypeName(typ)
	}
	return FamilyName(family) + " " + TypeName(typ)
}

// FamilyName names an address family: "AF_INET", "AF_INET6", or its
// number.
func FamilyName(f uint16) string {
	switch f {
	case unix.AF_INET:
		return "AF_INET"
	case unix.AF_INET6:
		return "AF_INET6"
	}
	return "family " + strconv.Itoa(int(f))
}

func familyName(f uint16) any {
	if f == unix.AF_INET || f == unix.AF_INET6 {
		return FamilyName(f)
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

// ProtocolJSON is a protocol as the JSON forms (an image's, ls's) give it:
// its name as ProtocolName gives it, or its number.
func ProtocolJSON(proto uint16) any {
	if n, ok := protocolNames[proto]; ok {
		return n
	}
	return proto
}

// SocketName names a socket's protocol as ls and the tree's info do:
// "raw" for any raw socket, else ProtocolName's name.
func SocketName(typ, proto uint16) string {
	if typ == unix.SOCK_RAW {
		return "raw"
	}
	return ProtocolName(proto)
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

// ssStateNames are the states as ss(8) names them, which the tree's info
// file shows.
var ssStateNames = [...]string{
	1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
	6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN",
	11: "CLOSING", 12: "NEW-SYN-RECV",
}

// SSStateName names a sock_diag state as ss does: "ESTAB", "UNCONN" (a
// TCP socket's is "CLOSE"), "LISTEN", ...; a number outside the table is
// written in decimal.
func SSStateName(typ uint16, state uint8) string {
	if state == StateClose && typ == unix.SOCK_STREAM {
		return "CLOSE"
	}
	if int(state) < len(ssStateNames) && ssStateNames[state] != "" {
		return ssStateNames[state]
	}
	return strconv.Itoa(int(state))
}

// modeNames are a filter's modes as the JSON form and the tree's
// membership files write them.
var modeNames = [...]string{ModeExclude: "exclude", ModeInclude: "include"}

// ModeName names a filter mode: "include" for MCAST_INCLUDE, "exclude"
// for anything else.
func ModeName(mode uint32) string {
	if mode == ModeInclude {
		return modeNames[ModeInclude]
	}
	return modeNames[ModeExclude]
}

// ModeByName reads a mode's name as ModeName writes it.
func ModeByName(name string) (uint32, bool) {
	for m, n := range modeNames {
		if n == name {
			return uint32(m), true
		}
	}
	return 0, false
}

// AddrPortString writes an address and port as every form shows them:
// "10.0.0.1:5000", "[2001:db8::1]:5000" (a scope id as the zone,
// "[fe80::1%2]:5000"), and "0.0.0.0:PORT" for no address.
func AddrPortString(ap netip.AddrPort) string {
	if !ap.Addr().IsValid() {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port()).String()
	}
	return ap.String()
}
