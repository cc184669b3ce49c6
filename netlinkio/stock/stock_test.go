package stock_test

import (
	"encoding/binary"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { netnstest.Main(m) }

// holderValue reads a row's value with getsockopt inside the holder.
func holderValue(t *testing.T, s *netnstest.Sock, o *image.Option) string {
	t.Helper()
	ne := binary.NativeEndian
	switch o.Kind {
	case image.Micros:
		b := s.GetBytes(o.Level, o.Opt, 16)
		return o.Format(image.MicrosValue(ne.Uint64(b), ne.Uint64(b[8:])))
	case image.Linger:
		b := s.GetBytes(o.Level, o.Opt, 8)
		return fmt.Sprintf("%d %d", ne.Uint32(b), ne.Uint32(b[4:]))
	case image.IfName:
		return strings.TrimRight(string(s.GetBytes(o.Level, o.Opt, 16)), "\x00")
	case image.InAddr:
		return netip.AddrFrom4([4]byte(s.GetBytes(o.Level, o.Opt, 4))).String()
	case image.RawOptions:
		return fmt.Sprintf("%x", s.GetBytes(o.Level, o.Opt, 40))
	case image.U64:
		return strconv.FormatUint(ne.Uint64(s.GetBytes(o.Level, o.Opt, 8)), 10)
	case image.S32:
		return strconv.Itoa(int(int32(s.GetInt(o.Level, o.Opt))))
	case image.Name:
		return strings.TrimRight(string(s.GetBytes(o.Level, o.Opt, 16)), "\x00")
	case image.Filter:
		return fmt.Sprintf("%x", s.GetFilter())
	case image.Timestamping, image.TxTime:
		b := s.GetBytes(o.Level, o.Opt, 8)
		return o.Format(image.Value{Num: uint64(ne.Uint32(b)), Num2: uint64(ne.Uint32(b[4:]))})
	case image.Tstamp:
		for _, f := range []struct{ v, old, new int }{{2, unix.SO_TIMESTAMPNS_OLD, unix.SO_TIMESTAMPNS_NEW}, {1, unix.SO_TIMESTAMP_OLD, unix.SO_TIMESTAMP_NEW}} {
			if s.GetInt(unix.SOL_SOCKET, f.old) != 0 || s.GetInt(unix.SOL_SOCKET, f.new) != 0 {
				return strconv.Itoa(f.v)
			}
		}
		return "0"
	case image.TstampNew:
		for _, opt := range []int{unix.SO_TIMESTAMP_NEW, unix.SO_TIMESTAMPNS_NEW, unix.SO_TIMESTAMPING_NEW} {
			if s.GetInt(unix.SOL_SOCKET, opt) != 0 {
				return "1"
			}
		}
		return "0"
	}
	n := s.GetInt(o.Level, o.Opt)
	switch o.Kind {
	case image.Flag:
		if n != 0 {
			n = 1
		}
	case image.BufLock:
		if n&o.Mask != 0 {
			n = 1
		} else {
			n = 0
		}
	case image.IfIndexBE:
		n = int(binary.BigEndian.Uint32(ne.AppendUint32(nil, uint32(n))))
	}
	return strconv.FormatUint(uint64(uint32(n)), 10)
}

// tune sets a handful of options inside the holder, so a dump has more to
// show than defaults.
func tune(s *netnstest.Sock, typ string) {
	ip, sol := unix.IPPROTO_IP, unix.SOL_SOCKET
	s.SetInt(ip, unix.IP_TTL, 33)
	s.SetInt(ip, unix.IP_TOS, 0x10)
	s.SetInt(ip, unix.IP_RECVTTL, 1)
	s.SetInt(ip, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
	s.SetInt(ip, unix.IP_FREEBIND, 1)
	s.SetInt(ip, unix.IP_MINTTL, 7)
	s.SetInt(sol, unix.SO_REUSEADDR, 1)
	s.SetInt(sol, unix.SO_PRIORITY, 5)
	s.SetInt(sol, unix.SO_MARK, 0x42)
	s.SetInt(sol, unix.SO_RCVBUF, 65536)
	s.SetBytes(sol, unix.SO_LINGER, binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 0), 9))
	s.SetBytes(sol, unix.SO_SNDTIMEO, binary.NativeEndian.AppendUint64(binary.NativeEndian.AppendUint64(nil, 2), 500000))
	s.SetBytes(sol, unix.SO_BINDTODEVICE, []byte("lo"))
	s.SetBytes(ip, unix.IP_OPTIONS, []byte{0x94, 0x04, 0x00, 0x00}) // router alert
	if typ != "tcp" {
		s.SetInt(ip, unix.IP_PKTINFO, 1)
		s.SetInt(ip, unix.IP_MULTICAST_TTL, 9)
		s.SetInt(ip, unix.IP_MULTICAST_ALL, 0)
		s.SetInt(ip, unix.IP_RECVERR, 1)
	}
	if strings.HasPrefix(typ, "raw") {
		s.SetInt(ip, unix.IP_NODEFRAG, 1)
	}
}

func TestDumpMatchesGetsockoptInHolder(t *testing.T) {
	stock := stock.NewStock()
	h := netnstest.NewHolder(t)
	for _, typ := range []string{"udp", "udplite", "tcp", "raw17", "raw255"} {
		t.Run(typ, func(t *testing.T) {
			s := h.Socket(typ)
			tune(s, typ)
			img := netnstest.Dump(t, stock, s.Inode)
			for _, o := range image.OptionsFor(img.Family, img.Type) {
				if o.ExactOnly {
					if img.Knows(o) {
						t.Errorf("%s: the stock reader cannot see it, but its image has %v", o.Path(), img.Values[o.Attr])
					}
					continue
				}
				if got, want := o.Format(img.Values[o.Attr]), holderValue(t, s, o); got != want {
					t.Errorf("%s: dump says %q, getsockopt in the holder says %q", o.Path(), got, want)
				}
			}
			if _, err := image.Decode(img.Encode()); err != nil {
				t.Fatalf("the dump does not decode: %v", err)
			}
		})
	}
}

var ssInode = regexp.MustCompile(`\bino:(\d+)`)

func TestListMatchesSS(t *testing.T) {
	netnstest.Require(t, "ss")
	h := netnstest.NewHolder(t)
	var made []uint64
	for _, typ := range []string{"udp", "udp", "tcp", "raw17", "udplite"} {
		s := h.Socket(typ)
		if !strings.HasPrefix(typ, "raw") {
			s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 0})
		}
		made = append(made, s.Inode)
	}
	list, err := stock.NewStock().List()
	if err != nil {
		t.Fatal(err)
	}
	var listed []uint64
	for _, s := range list {
		listed = append(listed, s.Inode)
	}
	var fromSS []uint64
	for _, m := range ssInode.FindAllStringSubmatch(netnstest.Run(t, "ss", "-H", "-a", "-e", "-4", "-u", "-t", "-w"), -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		if n != 0 {
			fromSS = append(fromSS, n)
		}
	}
	slices.Sort(fromSS)
	for _, ino := range made {
		if !slices.Contains(listed, ino) {
			t.Errorf("socket %d made by the holder is not listed", ino)
		}
	}
	// ss lists neither UDP-Lite, nor TCP sockets that are bound but not
	// listening (the kernel dumps those only when asked for), nor the
	// inodes of raw sockets; compare the rest.
	// The listing has other namespaces too, and unbound sockets.
	self := netnstest.NetnsIno(t, "/proc/self/ns/net")
	var listedNoLite []uint64
	for _, s := range list {
		if s.Netns != self || s.Type == unix.SOCK_DGRAM && s.Local.Port() == 0 {
			continue
		}
		if s.Protocol != unix.IPPROTO_UDPLITE && s.Type != unix.SOCK_RAW && !(s.Type == unix.SOCK_STREAM && s.State == 7) {
			listedNoLite = append(listedNoLite, s.Inode)
		}
	}
	if diff := cmp.Diff(fromSS, listedNoLite); diff != "" {
		t.Errorf("ss and List disagree on inodes (-ss +List):\n%s", diff)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// setText sets one option of an image from its text form.
func setText(t *testing.T, img *image.Image, dir, name, text string) {
	t.Helper()
	o, ok := image.LookupOption(dir, name)
	if !ok {
		t.Fatalf("no option %s/%s", dir, name)
	}
	v, err := o.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	img.Values[o.Attr] = v
}
