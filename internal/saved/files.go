package saved

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// The text files of the tree, read back: info, and membership files.
// Their forms are docs/tree.md's.

// parseInfo reads an info file. Lines it does not know are skipped, so
// that an archive made by a newer tree, which says more, is read.
func parseInfo(text string) (*Info, error) {
	i := &Info{Family: unix.AF_INET}
	seen := map[string]bool{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		key, val, _ := strings.Cut(line, " ")
		if key != "holder" && key != "cgroup" && seen[key] {
			return nil, fmt.Errorf("info: %q given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "family":
			i.Family, err = parseFamily(val)
		case "protocol":
			i.Type, i.Protocol, err = parseProtocol(val)
		case "local":
			i.Local, err = netip.ParseAddrPort(val)
		case "peer":
			i.Peer, err = netip.ParseAddrPort(val)
		case "uid":
			var n uint64
			n, err = strconv.ParseUint(val, 10, 32)
			i.UID = uint32(n)
		case "holder":
			var h image.Holder
			h, err = parseHolder(val)
			i.Holders = append(i.Holders, h)
		case "netns":
			i.NetnsInode, i.NetnsName, err = parseNetns(val)
		case "cgroup":
			// "cgroup PID PATH", one line per holding process (the tree
			// writes it so), or "cgroup PATH": the first holder's counts.
			if pid, path, ok := strings.Cut(val, " "); ok && strings.Trim(pid, "0123456789") == "" {
				val = path
			}
			if i.Cgroup == "" {
				i.Cgroup = val
			}
		}
		if err != nil {
			return nil, fmt.Errorf("info: line %q: %v", line, err)
		}
	}
	if !seen["protocol"] || !seen["local"] || !seen["peer"] {
		return nil, fmt.Errorf("info: want protocol, local and peer lines")
	}
	return i, nil
}

func parseFamily(s string) (uint16, error) {
	switch s {
	case "AF_INET", "inet", "2":
		return unix.AF_INET, nil
	case "AF_INET6", "inet6", "10":
		return unix.AF_INET6, nil
	}
	return 0, fmt.Errorf("unknown family")
}

// parseProtocol reads "udp (17)", "tcp (6)", "raw (255)".
func parseProtocol(s string) (typ, proto uint16, err error) {
	name, num, ok := strings.Cut(s, " (")
	num, ok2 := strings.CutSuffix(num, ")")
	n, err := strconv.ParseUint(num, 10, 8)
	if !ok || !ok2 || err != nil {
		return 0, 0, fmt.Errorf("want NAME (NUMBER)")
	}
	switch name {
	case "tcp":
		typ = unix.SOCK_STREAM
	case "raw":
		typ = unix.SOCK_RAW
	default:
		typ = unix.SOCK_DGRAM
	}
	if typ != unix.SOCK_RAW && image.SocketName(typ, uint16(n)) != name {
		return 0, 0, fmt.Errorf("protocol %s is not number %d", name, n)
	}
	return typ, uint16(n), nil
}

// parseHolder reads "PID FD COMM"; a command name may hold spaces.
func parseHolder(s string) (image.Holder, error) {
	f := strings.SplitN(s, " ", 3)
	if len(f) < 2 {
		return image.Holder{}, fmt.Errorf("want PID FD COMM")
	}
	pid, err1 := strconv.Atoi(f[0])
	fd, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || pid < 1 || fd < 0 {
		return image.Holder{}, fmt.Errorf("want PID FD COMM")
	}
	h := image.Holder{Pid: pid, Fd: fd}
	if len(f) == 3 {
		h.Comm = f[2]
	}
	return h, nil
}

// parseNetns reads "net:[4026531840]", perhaps followed by the
// namespace's name ("blue", "(blue)" or "/run/netns/blue").
func parseNetns(s string) (uint64, string, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, "", fmt.Errorf("want net:[INODE] [NAME]")
	}
	num, ok := strings.CutPrefix(f[0], "net:[")
	num, ok2 := strings.CutSuffix(num, "]")
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || !ok2 || err != nil || n == 0 {
		return 0, "", fmt.Errorf("want net:[INODE] [NAME]")
	}
	name := ""
	if len(f) == 2 {
		name = strings.TrimPrefix(strings.Trim(f[1], "()"), "/run/netns/")
	}
	return n, name, nil
}

// memberFile is a membership file: GROUP@IFNAME, with the ifindex and
// filter its text gives.
type memberFile struct {
	NamedMembership
	fileName  string
	hasFilter bool
}

// parseMembershipFile reads membership/GROUP@IFNAME and its text.
func parseMembershipFile(name, text string) (memberFile, error) {
	g, ifname, ok := strings.Cut(name, "@")
	group, err := netip.ParseAddr(g)
	if !ok || err != nil || ifname == "" || strings.ContainsRune(ifname, '@') {
		return memberFile{}, fmt.Errorf("a membership file is named GROUP@IFNAME")
	}
	if err := image.CheckGroup(group); err != nil {
		return memberFile{}, err
	}
	f := memberFile{NamedMembership: NamedMembership{Membership: image.Membership{Group: group}, IfName: ifname}, fileName: name}
	hasMode, hasSources := false, false
	for line := range strings.Lines(text) {
		w := strings.Fields(line)
		if len(w) == 0 {
			continue
		}
		bad := fmt.Errorf("line %q", strings.TrimSpace(line))
		switch w[0] {
		case "group":
			if len(w) != 2 || w[1] != g {
				return f, fmt.Errorf("%v does not name group %s", bad, g)
			}
		case "interface":
			if len(w) != 2 || w[1] != ifname {
				return f, fmt.Errorf("%v does not name interface %s", bad, ifname)
			}
		case "ifindex":
			n, err := strconv.ParseInt(w[len(w)-1], 10, 32)
			if len(w) != 2 || err != nil || n < 1 {
				return f, fmt.Errorf("%v: want an ifindex", bad)
			}
			f.Ifindex = int32(n)
		case "mode":
			m, ok := image.ModeByName(w[len(w)-1])
			if len(w) != 2 || !ok {
				return f, fmt.Errorf("%v: mode is include or exclude", bad)
			}
			f.Mode, hasMode = m, true
		case "sources":
			for _, a := range w[1:] {
				addr, err := netip.ParseAddr(a)
				if err != nil || !addr.Is4() {
					return f, fmt.Errorf("source %q is not a dotted-quad IPv4 address", a)
				}
				f.Sources = append(f.Sources, addr)
			}
			hasSources = true
		default:
			return f, fmt.Errorf("unknown %v (want group, interface, ifindex, mode, sources)", bad)
		}
	}
	slices.SortFunc(f.Sources, func(a, b netip.Addr) int { return a.Compare(b) })
	f.hasFilter = hasMode || hasSources
	probe := f.Membership
	if probe.Ifindex == 0 {
		probe.Ifindex = 1 // judged without its interface
	}
	return f, probe.Check()
}

// find is the image's membership this file names: by group and ifindex,
// or by group alone when the file gives no ifindex and the group is
// joined on one interface only.
func (f memberFile) find(img *image.Image) (image.Membership, bool) {
	var found []image.Membership
	for _, m := range img.Memberships {
		if m.Group == f.Group && (f.Ifindex == 0 || m.Ifindex == f.Ifindex) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return image.Membership{}, false
	}
	return found[0], true
}

func sameAddrs(a, b []netip.Addr) bool {
	return slices.Equal(a, b) || len(a) == 0 && len(b) == 0
}

// overlay is a socket saved without image.bin: its option files and
// membership files are all there is to restore, and info its identity.
func (s *socketFiles) overlay(e *Entry) error {
	e.Options = map[string]image.Value{}
	for _, p := range slices.Sorted(maps.Keys(s.pending)) {
		text := s.pending[p]
		dir, name, _ := strings.Cut(p, "/")
		o, ok := image.LookupOption(dir, name)
		if !ok {
			s.note("%s: not an option this inetcr knows; ignored", p)
			continue
		}
		v, err := o.Parse(strings.TrimSuffix(text, "\n"))
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		e.Options[p] = v
	}
	for _, f := range s.members {
		e.Memberships = append(e.Memberships, f.NamedMembership)
	}
	if s.info == nil {
		s.note("neither image.bin nor info: the socket cannot be told by its identity")
	}
	e.Notes = s.notes
	return nil
}
