package exact_test

import (
	"encoding/binary"
	"strings"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// tuneCoverage sets the option-coverage rows (issue 14) that the exact
// reader reads from sk_flags, inet_flags and scalar fields, each to a value
// other than its default; raw6 says the socket is a raw AF_INET6 one,
// which refuses SOL_IP.
func tuneCoverage(s *netnstest.Sock, typ string, raw6 bool) {
	s.SetInt(sol, unix.SO_DEBUG, 1)
	switch {
	case typ == "udp":
		s.SetInt(sol, unix.SO_TIMESTAMPNS_OLD, 1) // the timestamp row's 2
	case typ == "tcp":
		s.SetInt(sol, unix.SO_TIMESTAMP_NEW, 1) // tstamp_new
	default:
		s.SetInt(sol, unix.SO_TIMESTAMP_OLD, 1)
		s.SetInt(sol, unix.SO_TIMESTAMPING_OLD, unix.SOF_TIMESTAMPING_RX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE)
	}
	if typ != "tcp" {
		ne := binary.NativeEndian
		s.SetBytes(sol, unix.SO_TXTIME, ne.AppendUint32(ne.AppendUint32(nil, unix.CLOCK_MONOTONIC), 2)) // SOF_TXTIME_REPORT_ERRORS
	}
	s.SetInt(sol, unix.SO_RCVMARK, 1)
	s.SetInt(sol, unix.SO_BUSY_POLL, 50)
	s.SetInt(sol, unix.SO_PREFER_BUSY_POLL, 1)
	s.SetInt(sol, unix.SO_INCOMING_CPU, 1)
	s.SetInt(sol, unix.SO_SELECT_ERR_QUEUE, 1)
	s.SetInt(sol, unix.SO_MAX_PACING_RATE, 1_000_000)
	s.SetInt(sol, unix.SO_RXQ_OVFL, 1)
	s.SetInt(sol, unix.SO_WIFI_STATUS, 1)
	s.SetInt(sol, unix.SO_NOFCS, 1)
	s.SetInt(sol, unix.SO_RCVPRIORITY, 1)
	if typ == "udp" || typ == "tcp" {
		s.SetInt(sol, unix.SO_ZEROCOPY, 1)
	}
	if !strings.HasPrefix(typ, "raw") {
		s.SetInt(sol, unix.SO_PEEK_OFF, 5)
	}
	if typ == "tcp" {
		s.SetInt(sol, unix.SO_TXREHASH, 0)
		tuneTCP(s, false) // every tcpopt row (tcp_test.go)
	}
	if !raw6 {
		s.SetInt(ip, unix.IP_PASSSEC, 1)
		s.SetInt(ip, unix.IP_CHECKSUM, 1)
		s.SetInt(ip, unix.IP_RECVERR_RFC4884, 1)
		s.SetBytes(ip, unix.IP_LOCAL_PORT_RANGE, binary.NativeEndian.AppendUint32(nil, 50000<<16|40000))
		if typ != "tcp" {
			s.SetInt(ip, unix.IP_RECVFRAGSIZE, 1)
		}
	}
	if typ == "udp" || typ == "udplite" {
		s.SetInt(unix.SOL_UDP, unix.UDP_CORK, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_NO_CHECK6_TX, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_NO_CHECK6_RX, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_SEGMENT, 1400)
		s.SetInt(unix.SOL_UDP, unix.UDP_GRO, 1)
		s.SetInt(unix.SOL_UDP, unix.UDP_ENCAP, unix.UDP_ENCAP_ESPINUDP)
	}
	if typ == "udplite" {
		s.SetInt(unix.SOL_UDP, 10, 20) // UDPLITE_SEND_CSCOV
		s.SetInt(unix.SOL_UDP, 11, 24) // UDPLITE_RECV_CSCOV
	}
	// A classic filter of two instructions: ld #1; ret #0xffff.
	s.Must("attach_filter", map[string]any{"insns": "0000000001000000" + "06000000ffff0000"})
	s.SetInt(sol, unix.SO_LOCK_FILTER, 1) // one way: last
}
