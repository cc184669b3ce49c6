package integration

// The option coverage (docs/options.md) with real programs: ptp4l's
// timestamping, socat's UDP segmentation offload, and privileged options
// judged as the caller.

import (
	"encoding/binary"
	"encoding/hex"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// socketInode finds, with ss, the inode of the UDP socket bound to port
// that comm holds; it waits up to 10 s for the program to make it.
func socketInode(t *testing.T, port int, comm string) string {
	t.Helper()
	netnstest.Require(t, "ss")
	ino := regexp.MustCompile(`ino:(\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := netnstest.RunArgv(t, []string{"ss", "-Huanpe", "sport = :" + strconv.Itoa(port)})
		for _, line := range strings.Split(out, "\n") {
			if m := ino.FindStringSubmatch(line); m != nil && strings.Contains(line, `"`+comm+`"`) {
				return m[1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no UDP socket of %s on port %d after 10 s: %s", comm, port, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startProgram runs argv until the test ends.
func startProgram(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestPtp4lCloneTimestamps: ptp4l with software timestamping sets
// SO_TIMESTAMPING on its event socket (port 319). Its image, copied with
// cp onto a fresh socket once ptp4l is gone, gives a clone that has the
// same flags in its holder and that timestamps what it receives.
func TestPtp4lCloneTimestamps(t *testing.T) {
	netnstest.Require(t, "ptp4l", "cp")
	netnstest.Veth(t, "ptp0", "10.73.0.1/24")
	mnt := mount(t)
	ptp := startProgram(t, "ptp4l", "-i", "ptp0", "-S", "-4", "-q")
	ino := socketInode(t, 319, "ptp4l")
	dir := filepath.Join(mnt, ino)
	flags := strings.TrimSpace(netnstest.ReadFile(t, filepath.Join(dir, "sockopt", "timestamping")))
	if flags == "0" {
		t.Fatalf("ptp4l's event socket shows sockopt/timestamping 0")
	}
	t.Logf("ptp4l's event socket: sockopt/timestamping %s", flags)
	saved := filepath.Join(t.TempDir(), "ptp4l-event.bin")
	netnstest.MustSh(t, "cp "+filepath.Join(dir, "image.bin")+" "+saved)
	ptp.Process.Kill()
	ptp.Wait()

	h := netnstest.NewHolder(t)
	clone := h.Socket("udp")
	netnstest.MustSh(t, "cp "+saved+" "+filepath.Join(sockDir(mnt, clone), "image.bin"))
	if got := strconv.Itoa(clone.GetInt(unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD)); got != flags {
		t.Errorf("SO_TIMESTAMPING in the clone's holder is %s, ptp4l's was %s", got, flags)
	}
	// A PTP event message to the group ptp4l joined, looped back on
	// ptp0: the clone receives it with a timestamp.
	netnstest.MustSh(t, `python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.73.0.1"))
s.sendto(b"\x00" * 44, ("224.0.1.129", 319))'`)
	cmsgs, err := clone.RecvCmsg()
	if err != nil {
		t.Fatalf("the clone received nothing: %v", err)
	}
	stamped := false
	for _, c := range cmsgs {
		stamped = stamped || c == [2]int{unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD}
	}
	if !stamped {
		t.Errorf("the clone's datagram came without SCM_TIMESTAMPING: control messages %v", cmsgs)
	}
}

// TestSocatGSOSurvivesTar: a socat UDP socket with UDP_SEGMENT and
// UDP_GRO set goes through tar -c of its directory and tar -x onto a
// fresh socket, and the fresh socket's holder reads both back.
func TestSocatGSOSurvivesTar(t *testing.T) {
	netnstest.Require(t, "socat", "tar")
	mnt := mount(t)
	// setsockopt-listen applies before the bind (socat's setsockopt-int
	// would wait for a first datagram); its values are host-order bytes:
	// 1400 and 1.
	le := func(n uint32) string {
		return "x" + hex.EncodeToString(binary.NativeEndian.AppendUint32(nil, n))
	}
	socat := startProgram(t, "socat", "-u", "UDP4-RECV:47001,bind=127.0.0.1,setsockopt-listen=17:103:"+le(1400)+
		",setsockopt-listen=17:104:"+le(1), "OPEN:/dev/null")
	ino := socketInode(t, 47001, "socat")
	for _, f := range []struct{ file, want string }{{"udpopt/segment", "1400"}, {"udpopt/gro", "1"}} {
		if got := strings.TrimSpace(netnstest.ReadFile(t, filepath.Join(mnt, ino, f.file))); got != f.want {
			t.Fatalf("socat's %s reads %s, want %s", f.file, got, f.want)
		}
	}
	archive := filepath.Join(t.TempDir(), "socat.tar")
	netnstest.MustSh(t, "tar -C "+filepath.Join(mnt, ino)+" -cf "+archive+" .")
	h := netnstest.NewHolder(t)
	fresh := h.Socket("udp")
	// The fresh socket takes socat's address from the archive, which it
	// cannot while socat holds it.
	socat.Process.Kill()
	socat.Wait()
	out, code := netnstest.Sh(t, "tar -C "+sockDir(mnt, fresh)+" -xf "+archive)
	if code != 0 {
		t.Fatalf("tar -x onto a fresh socket: exit %d: %s", code, out)
	}
	if got := fresh.GetInt(unix.SOL_UDP, unix.UDP_SEGMENT); got != 1400 {
		t.Errorf("UDP_SEGMENT in the fresh socket's holder is %d, want 1400", got)
	}
	if got := fresh.GetInt(unix.SOL_UDP, unix.UDP_GRO); got != 1 {
		t.Errorf("UDP_GRO in the fresh socket's holder is %d, want 1", got)
	}
}

// holderTextMore is holderText for the kinds that take more than one
// getsockopt: the filter (SO_GET_FILTER counts instructions) and the
// timestamp options that share SOCK_TSTAMP_NEW.
func holderTextMore(s *netnstest.Sock, o *image.Option) (string, bool) {
	on := func(opts ...int) bool {
		for _, opt := range opts {
			if s.GetInt(unix.SOL_SOCKET, opt) != 0 {
				return true
			}
		}
		return false
	}
	switch o.Kind {
	case image.Filter:
		return hex.EncodeToString(s.GetFilter()), true
	case image.Tstamp:
		switch {
		case on(unix.SO_TIMESTAMPNS_OLD, unix.SO_TIMESTAMPNS_NEW):
			return "2", true
		case on(unix.SO_TIMESTAMP_OLD, unix.SO_TIMESTAMP_NEW):
			return "1", true
		}
		return "0", true
	case image.TstampNew:
		return b2s(on(unix.SO_TIMESTAMP_NEW, unix.SO_TIMESTAMPNS_NEW, unix.SO_TIMESTAMPING_NEW)), true
	}
	return "", false
}

// TestEchoSetsTCPOptions: every file of tcpopt/ takes a value by echo,
// reads it back, and getsockopt in the holder agrees; a TCP_MAXSEG below
// 88, which only the kernel sets, fails with EINVAL.
func TestEchoSetsTCPOptions(t *testing.T) {
	mnt := mount(t)
	s := netnstest.NewHolder(t).Socket("tcp")
	dir := sockDir(mnt, s)
	congestion := "reno"
	if strings.TrimSpace(netnstest.ReadFile(t, filepath.Join(dir, "tcpopt", "congestion"))) == "reno" {
		congestion = "cubic"
	}
	values := maps.Clone(tcpEchoValues)
	values["congestion"] = congestion
	for _, o := range treeRows(unix.AF_INET, unix.SOCK_STREAM) {
		if o.Dir != "tcpopt" {
			continue
		}
		v, ok := values[o.Name]
		if !ok {
			t.Errorf("tcpopt/%s: no value to try", o.Name)
			continue
		}
		p := filepath.Join(dir, o.Dir, o.Name)
		if out, code := netnstest.Sh(t, "echo "+v+" > "+p); code != 0 {
			t.Errorf("echo %s > %s: exit %d: %s", v, o.Path(), code, out)
			continue
		}
		if got := strings.TrimSpace(netnstest.ReadFile(t, p)); got != v {
			t.Errorf("%s: wrote %s, reads %s", o.Path(), v, got)
		}
		if want, ok := holderText(t, s, o); !ok || want != v {
			t.Errorf("%s: getsockopt in the holder says %q, want %q", o.Path(), want, v)
		}
	}
	p := filepath.Join(dir, "tcpopt", "maxseg")
	if out, code := netnstest.Sh(t, "echo 50 > "+p); code == 0 || !strings.Contains(out, "Invalid argument") {
		t.Errorf("echo 50 > tcpopt/maxseg: exit %d: %s (want Invalid argument)", code, out)
	}
	if got := s.GetInt(unix.SOL_TCP, unix.TCP_MAXSEG); got != 1000 {
		t.Errorf("TCP_MAXSEG %d in the holder after the refused write, want 1000", got)
	}
}

// tcpEchoValues are values each tcpopt/ file takes (not a fresh socket's),
// congestion aside: which algorithm is not the socket's depends on it.
var tcpEchoValues = map[string]string{
	"nodelay": "1", "maxseg": "1000", "cork": "1", "keepidle": "77", "keepintvl": "7", "keepcnt": "3",
	"syncnt": "3", "linger2": "-1", "defer_accept": "3", "window_clamp": "5000", "quickack": "0",
	"thin_linear_timeouts": "1", "user_timeout": "5000", "fastopen": "5",
	"notsent_lowat": "1000", "save_syn": "1", "fastopen_connect": "1", "fastopen_no_cookie": "1",
	"inq": "1", "tx_delay": "100", "rto_max_ms": "5000", "rto_min_us": "8000", "delack_max_us": "8000",
}
