package procfs

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/internal/deadline"
)

// IGMP parses /proc/<pid>/net/igmp into (ifindex, group) pairs: the
// groups joined on each interface of pid's network namespace.
func IGMP(pid int) ([]image.MembershipKey, error) {
	return deadline.Call(igmpPath(pid), ReadTimeout, func() ([]image.MembershipKey, error) {
		f, err := os.Open(igmpPath(pid))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return parseIGMP(f)
	}, func([]image.MembershipKey) {})
}

// ReadTimeout bounds a read of one process's /proc file: a namespace being
// torn down can make /proc/PID/net slow, and only the request that needs
// the file waits for it.
const ReadTimeout = 2 * time.Second

func igmpPath(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/net/igmp" }

// IGMPFile is /proc/<pid>/net/igmp kept open, with igmp6 beside it: they
// go on describing the network namespace pid had when they were opened,
// read again from the start each time, with no further look at pid.
type IGMPFile struct{ f, f6 *os.File }

// OpenIGMP opens pid's groups files. A namespace without IPv6 has no
// igmp6, and no IPv6 groups.
func OpenIGMP(pid int) (*IGMPFile, error) {
	return deadline.Call(igmpPath(pid), ReadTimeout, func() (*IGMPFile, error) { return OpenIGMPPath(igmpPath(pid)) },
		func(g *IGMPFile) { g.Close() })
}

// OpenIGMPPath opens a groups file by its path, such as
// /proc/thread-self/net/igmp on a thread inside a namespace. It opens on
// the calling thread, with no deadline of its own: a path under
// /proc/thread-self means that thread.
func OpenIGMPPath(path string) (*IGMPFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f6, err := os.Open(path + "6")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.Close()
		return nil, err
	}
	return &IGMPFile{f, f6}, nil
}

// Keys reads the file again, as IGMP does.
func (g *IGMPFile) Keys() ([]image.MembershipKey, error) {
	return deadline.Call(g.f.Name(), ReadTimeout, func() ([]image.MembershipKey, error) {
		return parseIGMP(io.NewSectionReader(g.f, 0, math.MaxInt64))
	}, func([]image.MembershipKey) {})
}

// Keys6 reads igmp6 again, as IGMP6 does.
func (g *IGMPFile) Keys6() ([]image.MembershipKey, error) {
	if g.f6 == nil {
		return nil, nil
	}
	return parseIGMP6(io.NewSectionReader(g.f6, 0, math.MaxInt64))
}

// Close closes the files.
func (g *IGMPFile) Close() error {
	if g.f6 != nil {
		g.f6.Close()
	}
	return g.f.Close()
}

// IGMP6 parses /proc/<pid>/net/igmp6 into (ifindex, group) pairs: the
// IPv6 groups joined on each interface of pid's network namespace (none
// when it has no IPv6).
func IGMP6(pid int) ([]image.MembershipKey, error) {
	f, err := os.Open(igmpPath(pid) + "6")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseIGMP6(f)
}

// parseIGMP6 reads igmp6's lines, "IFINDEX IFNAME GROUP USERS FLAGS
// TIMER", the group as 32 hex digits (%pi6), no header.
func parseIGMP6(r io.Reader) ([]image.MembershipKey, error) {
	var out []image.MembershipKey
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || len(f[2]) != 32 {
			continue
		}
		n, err1 := strconv.ParseInt(f[0], 10, 32)
		g, err2 := hex.DecodeString(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, image.MembershipKey{Ifindex: int32(n), Group: netip.AddrFrom16([16]byte(g))})
	}
	return out, sc.Err()
}

func parseIGMP(r io.Reader) ([]image.MembershipKey, error) {
	var out []image.MembershipKey
	ifindex := int32(-1)
	sc := bufio.NewScanner(r)
	sc.Scan() // the header
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			n, err := strconv.Atoi(fields[0])
			if err != nil {
				ifindex = -1
				continue
			}
			ifindex = int32(n)
			continue
		}
		g, err := strconv.ParseUint(fields[0], 16, 32)
		if err != nil || ifindex < 0 {
			continue
		}
		// The kernel prints the __be32 group as a host-order %08X.
		out = append(out, image.MembershipKey{Ifindex: ifindex, Group: netip.AddrFrom4([4]byte(binary.NativeEndian.AppendUint32(nil, uint32(g))))})
	}
	return out, sc.Err()
}
