package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/inetcr/inetcr/internal/match"
	"github.com/inetcr/inetcr/internal/saved"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// plan is what restore --match will do with one saved socket: the live
// socket it matched, and the image to restore onto it, with the saved
// interface names resolved in that socket's network namespace.
type plan struct {
	e       *saved.Entry
	res     match.Result
	want    *image.Image
	ifs     interfaces // the live socket's namespace's, for messages
	problem error      // matched, but it cannot be restored
	notes   []string   // what the entry's own notes do not say
}

// ok reports whether the plan can be carried out.
func (p *plan) ok() bool { return p.res.Outcome == match.Matched && p.problem == nil }

// savedSocket is an entry's identity: image.bin's where there is one,
// else info's. ignoreWhere drops the namespace and cgroup (--pid and
// --netns say where the socket is now). known is false when the entry
// has neither.
func savedSocket(e *saved.Entry, ignoreWhere bool) (s match.Socket, known bool) {
	s.Inode = e.Inode
	switch {
	case e.HasImage():
		h := e.Header
		s.Identity = match.Identity{Family: h.Family, Type: h.Type, Protocol: h.Protocol, Local: h.Local, Peer: h.Peer}
	case e.Info != nil:
		i := e.Info
		s.Identity = match.Identity{Family: i.Family, Type: i.Type, Protocol: i.Protocol, Local: i.Local, Peer: i.Peer}
	default:
		return s, false
	}
	if i := e.Info; i != nil {
		s.Holders = i.Holders
		if !ignoreWhere {
			s.Netns = match.Netns{Inode: i.NetnsInode, Name: i.NetnsName}
			s.Cgroup = i.Cgroup
		}
	}
	return s, true
}

// resolve makes the image to restore: image.bin's, or for a socket saved
// without one, the live socket's with the saved option and membership
// files applied (dump gives the live image). Interfaces are looked up by
// name in the live socket's namespace, never by a saved index.
func (p *plan) resolve(l *liveSide, dump func(uint64) (*image.Image, error)) {
	live := p.res.Live
	if len(live.Holders) == 0 {
		p.problem = fmt.Errorf("no holder of live socket %d could be found", live.Inode)
		return
	}
	ifs, err := l.interfacesOf(live.Holders[0].Pid)
	if err != nil {
		p.problem = err
		return
	}
	p.ifs = ifs
	if p.e.HasImage() {
		p.want, p.problem = p.fromImage(ifs)
	} else {
		var before *image.Image
		if before, p.problem = dump(live.Inode); p.problem == nil {
			p.want, p.problem = p.fromFiles(before, ifs)
		}
	}
	if p.problem == nil {
		p.problem = p.want.Validate()
	}
}

// fromImage is image.bin with its interface indexes moved to the live
// namespace's, by the names the archive gives them.
func (p *plan) fromImage(ifs interfaces) (*image.Image, error) {
	want, err := p.e.Image()
	if err != nil {
		return nil, err
	}
	var missing []string
	for i, m := range want.Memberships {
		name, ok := p.e.IfNames[m.Ifindex]
		if !ok {
			p.notes = append(p.notes, fmt.Sprintf("membership %s on ifindex %d: the saved state does not name its interface; ifindex %d is kept%s", m.Group, m.Ifindex, m.Ifindex, ifs.here(m.Ifindex)))
			continue
		}
		idx, ok := ifs.byName[name]
		if !ok {
			missing = append(missing, m.Group.String()+"@"+name)
			continue
		}
		want.Memberships[i].Ifindex = idx
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no such interface in the socket's network namespace for membership %s", strings.Join(missing, ", "))
	}
	if o, ok := image.LookupOption("ipopt", "unicast_if"); ok && o.Types.Has(want.Family, want.Type) {
		if v := want.Values[o.Attr]; v.Num != 0 {
			if name, ok := p.e.IfNames[int32(v.Num)]; ok {
				idx, ok := ifs.byName[name]
				if !ok {
					return nil, fmt.Errorf("ipopt/unicast_if: no interface %s in the socket's network namespace", name)
				}
				want.Values[o.Attr] = image.Value{Num: uint64(idx)}
			}
		}
	}
	want.Canonicalize()
	return want, nil
}

// fromFiles is the live image with the saved option and membership files
// applied: what tar -x of those files would set, and nothing else.
func (p *plan) fromFiles(before *image.Image, ifs interfaces) (*image.Image, error) {
	want := before.Clone()
	for _, path := range slices.Sorted(maps.Keys(p.e.Options)) {
		dir, name, _ := strings.Cut(path, "/")
		o, _ := image.LookupOption(dir, name)
		if !o.Types.Has(want.Family, want.Type) {
			return nil, fmt.Errorf("%s: %w", path, image.NotApplicable(path, want.Family, want.Type))
		}
		want.Set(o, p.e.Options[path]) // as a write of the file would
	}
	for _, nm := range p.e.Memberships {
		idx, ok := ifs.byName[nm.IfName]
		if !ok {
			return nil, fmt.Errorf("no such interface in the socket's network namespace for membership %s@%s", nm.Group, nm.IfName)
		}
		if !image.MembershipApplies(want.Family, want.Type) {
			return nil, image.NotApplicable("membership", want.Family, want.Type)
		}
		m := nm.Membership
		m.Ifindex, m.Address = idx, netip.IPv4Unspecified()
		want.Memberships = slices.DeleteFunc(want.Memberships, func(x image.Membership) bool { return x.Key() == m.Key() })
		want.Memberships = append(want.Memberships, m)
	}
	want.Canonicalize()
	return want, nil
}

// here is " (eth0 here)" for an ifindex of the namespace, or " (no such
// interface here)".
func (ifs interfaces) here(idx int32) string {
	if name, ok := ifs.byIndex[idx]; ok {
		return " (" + name + " here)"
	}
	return " (no such interface here)"
}
