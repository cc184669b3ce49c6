package exact_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

const tcp = unix.SOL_TCP

// Options x/sys/unix does not name.
const (
	tcpTxDelay     = 37 // TCP_TX_DELAY
	tcpRTOMaxMS    = 44 // TCP_RTO_MAX_MS
	tcpRTOMinUS    = 45 // TCP_RTO_MIN_US
	tcpDelackMaxUS = 46 // TCP_DELACK_MAX_US
)

// tuneTCP sets every tcpopt row to a value other than its default and
// other than what the namespace's sysctls give. connecting says the
// socket is about to connect: TCP_FASTOPEN_NO_COOKIE would then defer
// the connect to the first send, so it stays off.
func tuneTCP(s *netnstest.Sock, connecting bool) {
	s.SetInt(tcp, unix.TCP_NODELAY, 1)
	s.SetInt(tcp, unix.TCP_MAXSEG, 1000)
	s.SetInt(tcp, unix.TCP_CORK, 1)
	s.SetInt(tcp, unix.TCP_KEEPIDLE, 100)
	s.SetInt(tcp, unix.TCP_KEEPINTVL, 20)
	s.SetInt(tcp, unix.TCP_KEEPCNT, 4)
	s.SetInt(tcp, unix.TCP_SYNCNT, 3)
	s.SetInt(tcp, unix.TCP_LINGER2, 30)
	s.SetInt(tcp, unix.TCP_DEFER_ACCEPT, 10) // 4 retransmits: reads 15
	s.SetInt(tcp, unix.TCP_WINDOW_CLAMP, 20000)
	s.SetInt(tcp, unix.TCP_QUICKACK, 0)
	s.SetBytes(tcp, unix.TCP_CONGESTION, []byte("reno"))
	s.SetInt(tcp, unix.TCP_THIN_LINEAR_TIMEOUTS, 1)
	s.SetInt(tcp, unix.TCP_USER_TIMEOUT, 5000)
	s.SetInt(tcp, unix.TCP_FASTOPEN, 5)
	s.SetInt(tcp, unix.TCP_NOTSENT_LOWAT, 12345)
	s.SetInt(tcp, unix.TCP_SAVE_SYN, 1)
	s.SetInt(tcp, unix.TCP_FASTOPEN_CONNECT, 1)
	if !connecting {
		s.SetInt(tcp, unix.TCP_FASTOPEN_NO_COOKIE, 1)
	}
	s.SetInt(tcp, unix.TCP_INQ, 1)
	s.SetInt(tcp, tcpTxDelay, 1000)
	s.SetInt(tcp, tcpRTOMaxMS, 60000)
	s.SetInt(tcp, tcpRTOMinUS, 100000)
	s.SetInt(tcp, tcpDelackMaxUS, 50000)
}

// tcpRows are the tcpopt rows of the table that getsockopt reads (not
// linger2_default, which only the exact reader sees:
// TestRestoreFollowsTheDefault).
func tcpRows(t *testing.T) []*image.Option {
	t.Helper()
	var rows []*image.Option
	for _, o := range image.OptionsFor(unix.AF_INET, unix.SOCK_STREAM) {
		if o.Dir == "tcpopt" && !o.ExactOnly {
			rows = append(rows, o)
		}
	}
	if len(rows) != 24 {
		t.Fatalf("%d tcpopt rows, want 24", len(rows))
	}
	return rows
}

// sameAsHolder fails the test where a tcpopt row of the exact image is
// not what getsockopt gives inside the holder.
func sameAsHolder(t *testing.T, s *netnstest.Sock, img *image.Image) {
	t.Helper()
	for _, o := range tcpRows(t) {
		got := img.Values[o.Attr]
		if o.Kind == image.Name {
			want := bytes.TrimRight(s.GetBytes(o.Level, o.Opt, 16), "\x00")
			if !bytes.Equal(got.Bytes, want) {
				t.Errorf("tcpopt/%s: exact %q, getsockopt in the holder %q", o.Name, got.Bytes, want)
			}
			continue
		}
		if want := uint64(uint32(s.GetInt(o.Level, o.Opt))); got.Num != want {
			t.Errorf("tcpopt/%s: exact %d, getsockopt in the holder %d", o.Name, got.Num, want)
		}
	}
}

// Every tcpopt row set, on an unconnected socket, a listener and a
// connected client, AF_INET and AF_INET6, and with defaults under
// sysctls other than the kernel's: the exact image is the stock one and
// what getsockopt gives in the holder, read without a duplicate.
func TestEquivalentToStockTCP(t *testing.T) {
	e, st := open(t), stock.NewStock()
	h := netnstest.NewHolder(t)
	// A namespace's defaults that no socket of the kernel's own would
	// have: a 0 in tcp_sock must read as these.
	for knob, v := range map[string]string{
		"tcp_keepalive_time": "1234", "tcp_keepalive_intvl": "56", "tcp_keepalive_probes": "7",
		"tcp_syn_retries": "4", "tcp_fin_timeout": "41", "tcp_pingpong_thresh": "2",
	} {
		setSysctl(t, "/proc/sys/net/ipv4/"+knob, v)
	}
	for _, fam := range []struct {
		name     string
		socket   func(string) *netnstest.Sock
		loopback string
	}{{"4", h.Socket, "127.0.0.1"}, {"6", h.Socket6, "::1"}} {
		for _, how := range []string{"unconnected", "listening", "connected", "defaults", "defaults-listening", "repair"} {
			t.Run(fam.name+how, func(t *testing.T) {
				s := fam.socket("tcp")
				switch how {
				case "unconnected", "listening", "connected":
					tuneTCP(s, how == "connected")
				case "defaults":
					// Delayed acks under a threshold of 2 (pingpong 2),
					// then a threshold of 3: TCP_QUICKACK reads 1 again.
					s.SetInt(tcp, unix.TCP_QUICKACK, 0)
					setSysctl(t, "/proc/sys/net/ipv4/tcp_pingpong_thresh", "3")
				case "repair": // TCP_MAXSEG reads rx_opt.mss_clamp, not the 1000 asked
					s.SetInt(tcp, unix.TCP_MAXSEG, 1000)
					s.SetInt(tcp, unix.TCP_REPAIR, 1)
				}
				switch how {
				case "listening", "defaults-listening":
					s.Must("bind", map[string]any{"addr": fam.loopback, "port": 0})
					s.Must("listen", nil)
				case "connected":
					l := fam.socket("tcp")
					port := bindPort(t, h, l, fam.loopback)
					l.Must("listen", nil)
					s.Must("connect", map[string]any{"addr": fam.loopback, "port": port})
				}
				want := netnstest.Dump(t, st, s.Inode)
				got := netnstest.Dump(t, e, s.Inode)
				sameShared(t, want, got)
				sameAsHolder(t, s, got)
				if o, _ := image.LookupOption("tcpopt", "maxseg"); how == "repair" && got.Values[o.Attr].Num == 1000 {
					t.Errorf("tcpopt/maxseg 1000 in repair mode: the clamp is not what was asked")
				}
				if how == "defaults" {
					for name, v := range map[string]uint64{"keepidle": 1234, "keepintvl": 56, "keepcnt": 7, "syncnt": 4, "linger2": 41, "quickack": 1} {
						o, _ := image.LookupOption("tcpopt", name)
						if got.Values[o.Attr].Num != v {
							t.Errorf("tcpopt/%s %d, want the namespace's %d", name, got.Values[o.Attr].Num, v)
						}
					}
				}
			})
		}
	}
}

// No row is asked of the socket with getsockopt: the program reads a
// field for every row of every socket type, so no dump needs a
// duplicate (an unheld TCP socket dumps from its record).
func TestNoRowAsked(t *testing.T) {
	for _, fam := range []uint16{unix.AF_INET, unix.AF_INET6} {
		for _, typ := range []uint16{unix.SOCK_DGRAM, unix.SOCK_STREAM, unix.SOCK_RAW} {
			if n := exact.AskRows(fam, typ); n != 0 {
				t.Errorf("family %d type %d: %d rows asked with getsockopt", fam, typ, n)
			}
		}
	}
}

// bindPort binds s to addr with a kernel-chosen port and returns it.
func bindPort(t *testing.T, h *netnstest.Holder, s *netnstest.Sock, addr string) int {
	t.Helper()
	var r struct {
		Local []any `json:"local"`
	}
	h.Must(map[string]any{"op": "bind", "fd": s.Fd, "addr": addr, "port": 0}, &r)
	port, ok := r.Local[1].(float64)
	if !ok {
		t.Fatalf("bind: local %v", r.Local)
	}
	return int(port)
}

// setSysctl writes a sysctl of the test's namespace and puts it back
// after the test.
func setSysctl(t *testing.T, path, v string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(v), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0) })
}
