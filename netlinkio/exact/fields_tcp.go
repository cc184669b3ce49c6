package exact

import "golang.org/x/sys/unix"

// The tcpopt rows: what do_tcp_getsockopt (net/ipv4/tcp.c, Linux 6.18)
// computes from the tcp_rec the program writes after a TCP socket's
// sock_rec. The program reads fields raw; the arithmetic is here, with
// the HZ measured at load.

// tcpScalars are the TCP rows' entries of scalars, each named by the
// field it reads.
var tcpScalars = map[string]func(e *env, r *record) int64{
	"tcp_sock.nonagle&TCP_NAGLE_OFF":  func(_ *env, r *record) int64 { return int64(r.tcpRec().Nonagle & tcpNagleOff) },
	"tcp_sock.nonagle&TCP_NAGLE_CORK": func(_ *env, r *record) int64 { return int64(r.tcpRec().Nonagle & tcpNagleCork) },
	"tcp_sock.mss_cache":              maxSeg,
	"tcp_sock.keepalive_time": func(e *env, r *record) int64 {
		t := r.tcpRec()
		return orDefault(int64(t.KeepaliveTime), int64(t.SysctlKeepaliveTime)) / e.hz
	},
	"tcp_sock.keepalive_intvl": func(e *env, r *record) int64 {
		t := r.tcpRec()
		return orDefault(int64(t.KeepaliveIntvl), int64(t.SysctlKeepaliveIntvl)) / e.hz
	},
	"tcp_sock.keepalive_probes": func(_ *env, r *record) int64 {
		t := r.tcpRec()
		return orDefault(int64(t.KeepaliveProbes), int64(t.SysctlKeepaliveProbes))
	},
	"inet_connection_sock.icsk_syn_retries": func(_ *env, r *record) int64 {
		t := r.tcpRec()
		return orDefault(int64(t.SynRetries), int64(t.SysctlSynRetries))
	},
	"tcp_sock.linger2": func(e *env, r *record) int64 {
		t := r.tcpRec()
		if t.Linger2 < 0 {
			return int64(t.Linger2) // -1: no FIN_WAIT2 wait
		}
		return orDefault(int64(t.Linger2), int64(t.SysctlFinTimeout)) / e.hz
	},
	"inet_connection_sock.icsk_accept_queue.rskq_defer_accept": func(_ *env, r *record) int64 {
		return retransToSecs(r.tcpRec().DeferAccept, tcpTimeoutInitSec, tcpRTOMaxSec)
	},
	"tcp_sock.window_clamp": func(_ *env, r *record) int64 { return int64(r.tcpRec().WindowClamp) },
	"inet_connection_sock.icsk_ack.pingpong": func(_ *env, r *record) int64 {
		// TCP_QUICKACK reads !inet_csk_in_pingpong_mode.
		t := r.tcpRec()
		return flagInt(t.Pingpong < t.PingpongThresh)
	},
	"tcp_sock.thin_lto":                      func(_ *env, r *record) int64 { return tcpBit(r, tcpThinLTO) },
	"inet_connection_sock.icsk_user_timeout": func(_ *env, r *record) int64 { return int64(r.tcpRec().UserTimeout) },
	"inet_connection_sock.icsk_accept_queue.fastopenq.max_qlen": func(_ *env, r *record) int64 {
		return int64(r.tcpRec().FastopenQlen)
	},
	"tcp_sock.notsent_lowat":      func(_ *env, r *record) int64 { return int64(r.tcpRec().NotsentLowat) },
	"tcp_sock.save_syn":           func(_ *env, r *record) int64 { return int64(r.tcpRec().SaveSyn) },
	"tcp_sock.fastopen_connect":   func(_ *env, r *record) int64 { return tcpBit(r, tcpFastopenConnect) },
	"tcp_sock.fastopen_no_cookie": func(_ *env, r *record) int64 { return tcpBit(r, tcpFastopenNoCookie) },
	"tcp_sock.recvmsg_inq":        func(_ *env, r *record) int64 { return tcpBit(r, tcpRecvmsgInq) },
	"tcp_sock.tcp_tx_delay":       func(_ *env, r *record) int64 { return int64(r.tcpRec().TxDelay) },
	"inet_connection_sock.icsk_rto_max": func(e *env, r *record) int64 {
		t := r.tcpRec()
		return e.jiffiesToMsecs(kernelOr(t, hasRTOMax, t.RtoMax, tcpRTOMaxSec*uint32(e.hz)))
	},
	"inet_connection_sock.icsk_rto_min": func(e *env, r *record) int64 {
		t := r.tcpRec()
		return e.jiffiesToUsecs(kernelOr(t, hasRTOMin, t.RtoMin, uint32(e.hz/5)))
	},
	"inet_connection_sock.icsk_delack_max": func(e *env, r *record) int64 {
		t := r.tcpRec()
		return e.jiffiesToUsecs(kernelOr(t, hasDelackMax, t.DelackMax, uint32(e.hz/5)))
	},
}

// tcpTexts are the TCP rows read as a name.
var tcpTexts = map[string]func(r *record) []byte{
	"inet_connection_sock.icsk_ca_ops": func(r *record) []byte { return cString(r.tcpRec().CaName[:]) },
}

// Constants of include/net/tcp.h and the program's tcp_rec.
const (
	tcpNagleOff  = 1 // TCP_NAGLE_OFF
	tcpNagleCork = 2 // TCP_NAGLE_CORK

	// tcp_rec.bits
	tcpThinLTO          = 1 << 0
	tcpFastopenConnect  = 1 << 1
	tcpFastopenNoCookie = 1 << 2
	tcpRecvmsgInq       = 1 << 3
	tcpRepair           = 1 << 4

	// tcp_rec.has: the fields a kernel has; without one, the kernel's
	// constant (TCP_RTO_MIN and TCP_DELACK_MAX are HZ/5, TCP_RTO_MAX
	// 120 s) is what the socket uses.
	hasRTOMin    = 1
	hasRTOMax    = 2
	hasDelackMax = 4

	tcpTimeoutInitSec = 1   // TCP_TIMEOUT_INIT / HZ
	tcpRTOMaxSec      = 120 // TCP_RTO_MAX / HZ

	tcpStateClose  = 7  // TCP_CLOSE
	tcpStateListen = 10 // TCP_LISTEN
)

// noTCP stands in for the tcp_rec of a record that has none; image
// refuses a TCP socket without one before any row reads it.
var noTCP iterTcpRec

func (r *record) tcpRec() *iterTcpRec {
	if r.tcp == nil {
		return &noTCP
	}
	return r.tcp
}

// isTCP says the record is of a TCP socket, which must have a tcp_rec.
func (r *record) isTCP() bool {
	return r.Type == unix.SOCK_STREAM && r.Protocol == unix.IPPROTO_TCP
}

// maxSeg is TCP_MAXSEG: the MSS in use, what the user asked for while
// the socket is closed or listening, the clamp while it is in repair.
func maxSeg(_ *env, r *record) int64 {
	t := r.tcpRec()
	v := int64(t.MssCache)
	if t.UserMss != 0 && (r.State == tcpStateClose || r.State == tcpStateListen) {
		v = int64(t.UserMss)
	}
	if t.Bits&tcpRepair != 0 {
		v = int64(t.MssClamp)
	}
	return v
}

// orDefault is the kernel's "v ? : sysctl": a 0 follows the namespace's
// default.
func orDefault(v, sysctl int64) int64 {
	if v == 0 {
		return sysctl
	}
	return v
}

func tcpBit(r *record, bit uint8) int64 { return flagInt(r.tcpRec().Bits&bit != 0) }

func flagInt(on bool) int64 {
	if on {
		return 1
	}
	return 0
}

func kernelOr(t *iterTcpRec, has uint8, v, constant uint32) uint32 {
	if t.Has&has == 0 {
		return constant
	}
	return v
}

// retransToSecs is the kernel's: TCP_DEFER_ACCEPT is kept as a number of
// SYN-ACK retransmits, read back as the seconds they take, the timeout
// doubling from timeout up to rtoMax.
func retransToSecs(retrans uint8, timeout, rtoMax int64) int64 {
	if retrans == 0 {
		return 0
	}
	period := timeout
	for retrans--; retrans > 0; retrans-- {
		timeout <<= 1
		if timeout > rtoMax {
			timeout = rtoMax
		}
		period += timeout
	}
	return period
}

// jiffiesToMsecs is the kernel's on a 64-bit machine: rounded up, as an
// unsigned int.
func (e *env) jiffiesToMsecs(j uint32) int64 {
	return int64(uint32((uint64(j)*1000 + uint64(e.hz) - 1) / uint64(e.hz)))
}

// jiffiesToUsecs is the kernel's on a 64-bit machine: rounded down, as an
// unsigned int.
func (e *env) jiffiesToUsecs(j uint32) int64 {
	return int64(uint32(uint64(j) * 1_000_000 / uint64(e.hz)))
}

// cString is a NUL-padded name without its padding.
func cString(b []int8) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return out
}
