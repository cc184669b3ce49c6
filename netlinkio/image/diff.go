package image

import (
	"strconv"
	"strings"
)

// Change is one thing a restore changes on a socket, in the tree's terms,
// so that a log line says what a user would see with cat before and after.
type Change struct {
	// Path names what changes: "ipopt/ttl", "local", "peer", "state", or
	// "membership/GROUP@IFINDEX".
	Path string
	// Old and New are the values as the tree's files show them. For a
	// membership they are its filter ("exclude", "include 10.0.0.9"), and
	// empty when the socket is not a member.
	Old, New string
}

// Diff lists what restoring want onto a socket whose image is before
// changes, in the image's canonical order: state, addresses, options (the
// table's rows for the socket's type), then memberships by (ifindex,
// group). A bound socket keeps its address, so LOCAL is listed only when
// before is unbound.
func Diff(before, want *Image) []Change {
	var out []Change
	add := func(path, old, nw string) {
		if old != nw {
			out = append(out, Change{Path: path, Old: old, New: nw})
		}
	}
	add("state", strconv.Itoa(int(before.State)), strconv.Itoa(int(want.State)))
	if before.Unbound() {
		add("local", before.Local.String(), want.Local.String())
	}
	add("peer", before.Peer.String(), want.Peer.String())
	for _, o := range SharedOptionsFor(want.Family, want.Type) {
		if !want.Knows(o) || o.Follows(before, want) {
			continue // left as the socket has it
		}
		if old, nw := before.Values[o.Attr], want.Values[o.Attr]; !old.Equal(nw) {
			out = append(out, Change{Path: o.Path(), Old: o.Format(old), New: o.Format(nw)})
		}
	}
	b, w := before.Clone(), want.Clone()
	b.CanonicalOrder() // a merge of two sorted lists: what differs, not the order
	w.CanonicalOrder()
	i, j := 0, 0
	for i < len(b.Memberships) || j < len(w.Memberships) {
		switch {
		case j == len(w.Memberships) || i < len(b.Memberships) && compareMemberships(b.Memberships[i], w.Memberships[j]) < 0:
			add(membershipPath(b.Memberships[i].Key()), filterText(b.Memberships[i]), "")
			i++
		case i == len(b.Memberships) || compareMemberships(b.Memberships[i], w.Memberships[j]) > 0:
			add(membershipPath(w.Memberships[j].Key()), "", filterText(w.Memberships[j]))
			j++
		default:
			add(membershipPath(w.Memberships[j].Key()), filterText(b.Memberships[i]), filterText(w.Memberships[j]))
			i++
			j++
		}
	}
	return out
}

// membershipPath names a membership as the tree accepts it: the group and
// the interface's index, which stands for its name.
func membershipPath(k MembershipKey) string {
	return "membership/" + k.Group.String() + "@" + strconv.Itoa(int(k.Ifindex))
}

// filterText is a membership's source filter: its mode, then its sources.
func filterText(m Membership) string {
	parts := []string{ModeName(m.Mode)}
	for _, s := range m.Sources {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " ")
}
