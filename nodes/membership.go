package nodes

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/held"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// membershipDir is membership/: one file per multicast membership of the
// socket, IPv4 or IPv6 (an AF_INET6 UDP socket may have both), named
// GROUP@IFNAME ("239.1.2.3@eth0", "ff02::fb@eth0"). Creating a file joins the group on that
// interface (idempotent), removing it leaves.
type membershipDir struct {
	fs.Inode
	refuse
	t   *Tree
	ino uint64
}

var (
	_ = (fs.NodeLookuper)((*membershipDir)(nil))
	_ = (fs.NodeReaddirer)((*membershipDir)(nil))
	_ = (fs.NodeGetattrer)((*membershipDir)(nil))
	_ = (fs.NodeSetattrer)((*membershipDir)(nil))
	_ = (fs.NodeCreater)((*membershipDir)(nil))
	_ = (fs.NodeUnlinker)((*membershipDir)(nil))
)

const membershipPath = "membership"

// names lists the memberships of a socket's image by file name, sorted.
func (d *membershipDir) names(img *image.Image) []string {
	var ifnames ifnames
	if len(img.Memberships) > 0 {
		ifnames = d.t.imageNames(d.ino, img)
	}
	var names []string
	for _, m := range img.Memberships {
		names = append(names, m.Group.String()+"@"+ifnames.name(m.Ifindex))
	}
	slices.Sort(names)
	return names
}

// attr fills the directory's attributes. They come from a dump that does
// not carry out pending leaves: the kernel asks for them between tar's
// unlink of a file and its create of the same name (pending.go).
func (d *membershipDir) attr(s *sock, out *fuse.Attr, fresh bool) syscall.Errno {
	img, err := s.dump(fresh)
	if err != nil {
		return errno(err)
	}
	fill(out, s.mode(modeDir), 0, s.owner(), 2, s.observe(membershipPath, []byte(strings.Join(d.names(img), "\n"))))
	return 0
}

// cachedAttr fills the directory's attributes from a dump that may be a
// little old (Config.CacheTTL).
func (d *membershipDir) cachedAttr(s *sock, out *fuse.Attr) syscall.Errno {
	return d.attr(s, out, false)
}

func (d *membershipDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return d.t.dirGetattr(d.ino, out, d.cachedAttr)
}

func (d *membershipDir) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return d.t.dirSetattr(d.ino, membershipPath, in, out, d.cachedAttr)
}

func (d *membershipDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, errno(err)
	}
	if e := d.t.permit(ctx, s, "list", membershipPath, false); e != 0 {
		return nil, e
	}
	// Like an open of a file, a listing reads a dump that has not served
	// it yet (sock.claim): tar lists membership/ right after reading the
	// socket's other files, from the same dump.
	s.claim(membershipPath)
	img, err := s.image(false)
	if err != nil {
		return nil, errno(err)
	}
	s.serve(membershipPath)
	pid := callerPid(ctx)
	out := dots(s.stable(membershipPath, syscall.S_IFDIR).Ino, s.stable("", syscall.S_IFDIR).Ino)
	for _, name := range d.names(img) {
		if s.isHidden(membershipPath+"/"+name, pid) {
			continue
		}
		out = append(out, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: s.stable(membershipPath+"/"+name, syscall.S_IFREG).Ino})
	}
	return fs.NewListDirStream(out), 0
}

func (d *membershipDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, errno(err)
	}
	k, _, err := parseMembershipName(name, d.t.interfaceNames(d.ino))
	if err != nil || s.isHidden(membershipPath+"/"+name, callerPid(ctx)) {
		return nil, syscall.ENOENT
	}
	img, err := s.image(false)
	if err != nil {
		return nil, errno(err)
	}
	if _, ok := img.Membership(k); !ok {
		// Look again before saying no: the cached dump may predate a join.
		if img, err = s.image(true); err != nil {
			return nil, errno(err)
		}
		if _, ok := img.Membership(k); !ok {
			return nil, syscall.ENOENT
		}
	}
	return d.child(ctx, s, name, k, out)
}

func (d *membershipDir) child(ctx context.Context, s *sock, name string, k image.MembershipKey, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n := &membershipFile{fileBase: fileBase{t: d.t, ino: d.ino, path: membershipPath + "/" + name, mode: modeFile, holds: true}, key: k}
	if e := n.attr(s, &out.Attr, n.content); e != 0 {
		return nil, e
	}
	// The kernel must ask again at every path walk: a restore through
	// image.bin can leave a group without an unlink that the kernel would
	// see.
	d.t.entry(out, false)
	return d.NewInode(ctx, n, s.stable(n.path, syscall.S_IFREG)), 0
}

// Create joins the group (idempotent) and opens the file for writing, so
// that a filter can follow (tar -x, cp -a write the file's content back).
// A create of a name whose leave the same process asked for and that is
// still pending cancels the leave instead: the membership is opened for
// writing as it is (tar -x's unlink and create again, pending.go).
func (d *membershipDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	who := caller(ctx)
	path := membershipPath + "/" + name
	c, e := d.t.check(who, s, "join", path)
	if e != 0 {
		return nil, nil, 0, e
	}
	k, _, err := parseMembershipName(name, d.t.interfaceNames(d.ino))
	if err != nil {
		return nil, nil, 0, c.end(err, "")
	}
	target, err := netlinkio.Take(d.t.b, d.ino)
	if err != nil {
		return nil, nil, 0, c.end(err, "")
	}
	h := newWriteHandle(s, who, target, flags)
	if s.cancelLeave(path, callerPid(ctx)) {
		child, e := d.child(ctx, s, name, k, out)
		if e != 0 {
			h.release()
			return nil, nil, 0, e
		}
		return child, h, createFlags, 0
	}
	s.settle()
	s.beforeChange()
	m := image.Membership{Group: k.Group, Ifindex: k.Ifindex, Mode: image.ModeExclude}
	if k.Group.Is4() {
		m.Address = netip.IPv4Unspecified()
	}
	err = target.Join(who, m, c.guards()...)
	s.changed()
	if e := c.end(err, ""); e != 0 {
		h.release()
		return nil, nil, 0, e
	}
	child, e := d.child(ctx, s, name, k, out)
	if e != 0 {
		h.release()
		return nil, nil, 0, e
	}
	return child, h, createFlags, 0
}

// Unlink asks for a leave of the group: what can refuse it is checked now
// (the caller's rights, the membership itself: ENOENT when the socket is
// not a member), the name is hidden from the calling process at once, and
// the leave is carried out when that process exits, after LeaveDelay, or
// at the next request that needs the socket's state, unless the process
// creates the name again first (pending.go, docs/tree.md).
func (d *membershipDir) Unlink(ctx context.Context, name string) syscall.Errno {
	s, err := d.t.sock(d.ino)
	if err != nil {
		return errno(err)
	}
	k, _, err := parseMembershipName(name, d.t.interfaceNames(d.ino))
	if err != nil {
		return syscall.ENOENT
	}
	path := membershipPath + "/" + name
	c, e := d.t.check(caller(ctx), s, "leave", path)
	if e != 0 {
		return e
	}
	before, err := s.image(true)
	if err != nil {
		return c.end(err, "")
	}
	if _, ok := before.Membership(k); !ok {
		return c.end(notMember(fmt.Errorf("leave %s on ifindex %d: %w", k.Group, k.Ifindex, syscall.EADDRNOTAVAIL)), "")
	}
	pid := tgid(callerPid(ctx))
	s.hide(path, pid)
	s.addLeave(&pendingLeave{key: k, path: path, pid: pid, c: c})
	return 0
}

// membershipFile is membership/GROUP@IFNAME. Reading shows the group, the
// interface, its index, the filter mode and the sources; writing text of
// the same form (only mode and sources matter) sets the source filter.
type membershipFile struct {
	fileBase
	key image.MembershipKey
}

var (
	_ = (fs.NodeGetattrer)((*membershipFile)(nil))
	_ = (fs.NodeSetattrer)((*membershipFile)(nil))
	_ = (fs.NodeOpener)((*membershipFile)(nil))
	_ = (fs.NodeReader)((*membershipFile)(nil))
	_ = (fs.NodeWriter)((*membershipFile)(nil))
	_ = (fs.NodeFlusher)((*membershipFile)(nil))
	_ = (fs.NodeFsyncer)((*membershipFile)(nil))
)

func (n *membershipFile) membership(s *sock, fresh bool) (image.Membership, error) {
	img, err := s.image(fresh)
	if err != nil {
		return image.Membership{}, err
	}
	m, ok := img.Membership(n.key)
	if !ok {
		return m, fmt.Errorf("%d/%s: %w", n.ino, n.path, syscall.ENOENT)
	}
	return m, nil
}

func (n *membershipFile) content(s *sock, fresh bool) ([]byte, error) {
	m, err := n.membership(s, fresh)
	if err != nil {
		return nil, err
	}
	return []byte(membershipText(m, n.t.interfaceNames(n.ino).name(m.Ifindex))), nil
}

func (n *membershipFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.getattr(out, n.content)
}

func (n *membershipFile) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.setattr(f, in, out, n.content)
}

func (n *membershipFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return n.openHandle(ctx, flags, n.content, true)
}

// Write buffers text for the membership's source filter; Flush (close)
// applies it: "mode" and "sources" lines set the filter, "group",
// "interface" and "ifindex" lines must name this membership, and text
// without mode or sources changes nothing. The error comes from close(2).
//
// Each line is checked when a write completes it (ends it with a newline),
// so that a shell's redirection, which ignores close's result, fails: an
// unknown key, a bad address, a group, interface or ifindex line that
// does not name this membership, and once both mode and sources are
// given, a filter that no socket can have (INCLUDE with no sources). The
// write that completes such a line is refused (EINVAL, logged) and so is
// the rest of what this open writes; nothing changes.
func (n *membershipFile) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	var text string
	w, err := writeBuffer(f, data, off, func(buf []byte, known int) error {
		text = string(buf[:bytes.LastIndexByte(buf, '\n')+1])
		return checkFilterText(text, n.key, n.t.interfaceNames(n.ino).name(n.key.Ifindex))
	})
	if err != nil && err != errRefused {
		c := &change{t: n.t, who: opener(ctx, f), ino: n.ino, op: "write", path: n.path}
		return 0, c.end(err, text)
	}
	return w, errno(err)
}

func (n *membershipFile) Flush(ctx context.Context, f fs.FileHandle) syscall.Errno {
	if refusedHandle(f) {
		return syscall.EINVAL
	}
	buf, ok := takeBuffer(f)
	if !ok {
		return 0
	}
	h, e := writer(f)
	if e != 0 {
		return e
	}
	c, e := n.t.begin(h.who, h.sock, "filter", n.path)
	if e != 0 {
		return e
	}
	err := n.setFilter(h, string(buf), c.guards())
	h.sock.changed()
	return c.end(notMember(err), string(buf))
}

func (n *membershipFile) setFilter(h *handle, text string, guards []held.Guard) error {
	cur, err := n.membership(h.sock, true)
	if err != nil {
		return err
	}
	mode, sources, set, err := parseFilter(text, cur, n.t.interfaceNames(n.ino).name(cur.Ifindex))
	if err != nil || !set {
		return err
	}
	return h.target.SetFilter(h.who, n.key, mode, sources, guards...)
}

// membershipText is a membership file's content.
func membershipText(m image.Membership, ifname string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s\ninterface %s\nifindex %d\nmode %s\nsources", m.Group, ifname, m.Ifindex, image.ModeName(m.Mode))
	for _, src := range m.Sources {
		b.WriteString(" " + src.String())
	}
	b.WriteString("\n")
	return b.String()
}

// checkFilterText judges the complete lines of a text written to the
// membership file of k as far as that can be done without the socket.
func checkFilterText(text string, k image.MembershipKey, ifname string) error {
	m := image.Membership{Group: k.Group, Ifindex: k.Ifindex, Mode: image.ModeExclude}
	_, _, _, err := parseFilter(text, m, ifname)
	return err
}

// parseFilter reads text written to a membership file. set says whether
// it names a filter at all. The sources must pass the rules of an image's
// (image.Membership.Check), and a text that gives both mode and sources
// must give a filter a socket can have.
func parseFilter(text string, m image.Membership, ifname string) (mode uint32, sources []netip.Addr, set bool, err error) {
	name := "membership/" + m.Group.String() + "@" + ifname
	bad := func(format string, args ...any) (uint32, []netip.Addr, bool, error) {
		return 0, nil, false, &image.AttrError{Attr: name, Reason: fmt.Sprintf(format, args...)}
	}
	mode, sources = m.Mode, slices.Clone(m.Sources)
	sawMode, sawSources := false, false
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "group":
			if len(f) != 2 || f[1] != m.Group.String() {
				return bad("line %q does not name group %s", strings.TrimSpace(line), m.Group)
			}
		case "interface":
			if len(f) != 2 || f[1] != ifname {
				return bad("line %q does not name interface %s", strings.TrimSpace(line), ifname)
			}
		case "ifindex":
			if len(f) != 2 || f[1] != strconv.Itoa(int(m.Ifindex)) {
				return bad("line %q does not name ifindex %d", strings.TrimSpace(line), m.Ifindex)
			}
		case "mode":
			var ok bool
			if len(f) == 2 {
				mode, ok = image.ModeByName(f[1])
			}
			if !ok {
				return bad("line %q: mode is include or exclude", strings.TrimSpace(line))
			}
			sawMode = true
		case "sources":
			sources = nil
			for _, a := range f[1:] {
				addr, err := netip.ParseAddr(a)
				if m.Group.Is4() && (err != nil || !addr.Is4()) {
					return bad("source %q is not a dotted-quad IPv4 address", a)
				}
				if m.Group.Is6() && (err != nil || !addr.Is6()) {
					return bad("source %q is not an IPv6 address (an IPv6 group's sources are)", a)
				}
				sources = append(sources, addr)
			}
			sawSources = true
		default:
			return bad("unknown line %q (want group, interface, ifindex, mode, sources)", strings.TrimSpace(line))
		}
	}
	if sawMode && !sawSources {
		sources = nil
	}
	slices.SortFunc(sources, func(a, b netip.Addr) int { return a.Compare(b) })
	sources = slices.Compact(sources)
	// Only a text that gives both mode and sources gives the whole filter;
	// otherwise its sources are judged alone.
	probe := image.Membership{Group: m.Group, Ifindex: m.Ifindex, Mode: image.ModeExclude, Sources: sources}
	if sawMode && sawSources {
		probe.Mode = mode
	}
	if err := probe.Check(); err != nil {
		return 0, nil, false, image.Rename(err, name)
	}
	return mode, sources, sawMode || sawSources, nil
}

// parseMembershipName reads GROUP@IFNAME: an error that unwraps to EINVAL
// unless GROUP is an IPv4 or IPv6 multicast address and IFNAME a name
// (whether the socket can join a group of that family is the join's to
// say), to ENODEV when the socket's namespace (ifs) has no such
// interface. IFNAME may also be an interface index.
func parseMembershipName(name string, ifs ifnames) (image.MembershipKey, string, error) {
	bad := func(reason string) (image.MembershipKey, string, error) {
		return image.MembershipKey{}, "", &image.AttrError{Attr: membershipPath + "/" + name, Reason: reason}
	}
	g, ifname, ok := strings.Cut(name, "@")
	if !ok || ifname == "" {
		return bad("a membership is named GROUP@IFNAME")
	}
	group, err := netip.ParseAddr(g)
	if err != nil || group.Zone() != "" {
		return bad(fmt.Sprintf("group %q is not a dotted-quad IPv4 or an IPv6 address", g))
	}
	if err := image.CheckGroup(group); err != nil {
		return image.MembershipKey{}, "", image.Rename(err, membershipPath+"/"+name)
	}
	index, ifn, ok := ifs.index(ifname)
	if !ok {
		return image.MembershipKey{}, "", fmt.Errorf("%s/%s: no interface %q in the socket's network namespace: %w", membershipPath, name, ifname, syscall.ENODEV)
	}
	return image.MembershipKey{Ifindex: index, Group: group}, ifn, nil
}

// Fsync applies written text early, as close would.
func (n *membershipFile) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	return n.Flush(ctx, f)
}
