package stock_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// alsoRead are getsockopt numbers a row reads besides its own: the other
// forms of the same kernel state.
var alsoRead = map[[2]int]string{
	{unix.SOL_SOCKET, unix.SO_RCVTIMEO_NEW}:     "sockopt/rcvtimeo",
	{unix.SOL_SOCKET, unix.SO_SNDTIMEO_NEW}:     "sockopt/sndtimeo",
	{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD}:  "sockopt/timestamp",
	{unix.SOL_SOCKET, unix.SO_TIMESTAMP_NEW}:    "sockopt/timestamp",
	{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW}:  "sockopt/timestamp",
	{unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW}: "sockopt/tstamp_new",
}

// answers reports whether the kernel knows option (level, opt) on fd: a
// getsockopt of some length succeeds, or fails with an errno that is not
// "no such option" (ENOPROTOOPT, EOPNOTSUPP) or "not of this length"
// (EINVAL): ENOTCONN for a peer's name, EPERM, ENOENT.
func answers(fd, level, opt int) (bool, string) {
	for _, n := range []uint32{4, 8, 16, 64, 256} {
		buf := make([]byte, 256)
		size := n
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		switch {
		case e == 0:
			return true, "answers"
		case errors.Is(e, unix.ENOPROTOOPT), errors.Is(e, unix.EOPNOTSUPP), errors.Is(e, unix.EINVAL):
			continue
		default:
			return true, unix.ErrnoName(e)
		}
	}
	return false, ""
}

// Every option the kernel keeps for a socket type is a row of the table
// or on the documented not-carried list (image.NotCarried, shown in
// docs/options.md) with its reason. The probe covers option numbers 0 to
// 255 of SOL_SOCKET, SOL_IP, SOL_UDP and SOL_TCP on a fresh socket of
// each type.
func TestEveryKernelOptionIsCarriedOrListed(t *testing.T) {
	types := []struct {
		name       string
		typ, proto int
		levels     []int
		sockType   uint16
	}{
		{"udp", unix.SOCK_DGRAM, unix.IPPROTO_UDP, []int{unix.SOL_SOCKET, unix.IPPROTO_IP, unix.SOL_UDP, unix.SOL_TCP}, unix.SOCK_DGRAM},
		{"udplite", unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE, []int{unix.SOL_SOCKET, unix.IPPROTO_IP, unix.SOL_UDP, unix.SOL_TCP}, unix.SOCK_DGRAM},
		{"tcp", unix.SOCK_STREAM, unix.IPPROTO_TCP, []int{unix.SOL_SOCKET, unix.IPPROTO_IP, unix.SOL_UDP, unix.SOL_TCP}, unix.SOCK_STREAM},
		{"raw", unix.SOCK_RAW, unix.IPPROTO_UDP, []int{unix.SOL_SOCKET, unix.IPPROTO_IP, unix.SOL_UDP, unix.SOL_TCP}, unix.SOCK_RAW},
	}
	listed := map[[2]int]bool{}
	anyType := map[[2]int]string{}
	for _, o := range image.Options {
		anyType[[2]int{o.Level, o.Opt}] = o.Path()
	}
	var report strings.Builder
	for _, ty := range types {
		fd, err := unix.Socket(unix.AF_INET, ty.typ|unix.SOCK_CLOEXEC, ty.proto)
		if err != nil {
			t.Fatalf("%s socket: %v", ty.name, err)
		}
		rows := map[[2]int]string{}
		for _, o := range image.OptionsFor(unix.AF_INET, ty.sockType) {
			rows[[2]int{o.Level, o.Opt}] = o.Path()
		}
		var carried, notCarried, otherType []string
		for _, level := range ty.levels {
			for opt := range 256 {
				ok, how := answers(fd, level, opt)
				if !ok {
					continue
				}
				key := [2]int{level, opt}
				where := fmt.Sprintf("%s %d", image.LevelName(level), opt)
				if p, ok := rows[key]; ok {
					carried = append(carried, where+"="+p)
					continue
				}
				if p, ok := alsoRead[key]; ok {
					carried = append(carried, where+"="+p)
					continue
				}
				if p, ok := anyType[key]; ok {
					// The row's socket types leave this one out (the
					// seed's datagram-only and RAW-only rule, or a
					// kernel that refuses a set on this type).
					otherType = append(otherType, where+"="+p)
					continue
				}
				if u, ok := image.LookupNotCarried(level, opt); ok {
					listed[key] = true
					notCarried = append(notCarried, u.Name)
					continue
				}
				t.Errorf("%s: the kernel keeps %s (getsockopt %s), which is neither a row of the table nor on image.NotCarried", ty.name, where, how)
			}
		}
		unix.Close(fd)
		fmt.Fprintf(&report, "%s: %d carried: %s\n  rows of other socket types: %s\n  not carried: %s\n",
			ty.name, len(carried), strings.Join(carried, " "), strings.Join(otherType, " "), strings.Join(notCarried, " "))
	}
	for _, u := range image.NotCarried {
		for _, o := range image.Options {
			if o.Level == u.Level && o.Opt == u.Opt {
				t.Errorf("%s is on the not-carried list and is the row %s", u.Name, o.Path())
			}
		}
		if !listed[[2]int{u.Level, u.Opt}] {
			fmt.Fprintf(&report, "listed, not answered by a fresh socket here: %s\n", u.Name)
		}
	}
	t.Log("\n" + report.String())
}
