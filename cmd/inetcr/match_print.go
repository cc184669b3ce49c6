package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/inetcr/inetcr/internal/match"
	"github.com/inetcr/inetcr/netlinkio/image"
)

// report prints what became of one saved socket: a heading naming the
// saved socket and the live one, then each change in the form inetcr
// decode prints attributes (id, name, value), then the notes.
func (r *matchRun) report(p *plan, changes []image.Change, err error) {
	w := r.w
	head := p.e.Source
	if p.res.Outcome == match.Matched {
		head += " -> " + match.Describe(p.res.Live)
	}
	switch {
	case p.res.Outcome == match.Unmatched:
		fmt.Fprintf(w, "%s: no match: %s\n", head, p.res.Reason)
	case p.res.Outcome == match.Ambiguous:
		fmt.Fprintf(w, "%s: ambiguous: %s\n", head, p.res.Reason)
	case p.problem != nil:
		fmt.Fprintf(w, "%s: cannot be restored: %s\n", head, oneLine(p.problem))
	case err != nil:
		fmt.Fprintf(w, "%s: failed: %s\n", head, oneLine(err))
	case len(changes) == 0 && r.c.Bool("dry-run"):
		fmt.Fprintf(w, "%s: no difference\n", head)
	case len(changes) == 0:
		fmt.Fprintf(w, "%s: unchanged\n", head)
	case r.c.Bool("dry-run"):
		fmt.Fprintf(w, "%s: %s\n", head, plural(len(changes), "difference"))
	default:
		fmt.Fprintf(w, "%s: restored, %s\n", head, plural(len(changes), "change"))
	}
	for _, ch := range changes {
		writeChange(w, ch, p.ifs)
	}
	for _, n := range append(p.e.Notes, p.notes...) {
		fmt.Fprintf(w, "    note: %s\n", n)
	}
}

// writeChange prints one change as "ID NAME OLD -> NEW", the columns of
// inetcr decode; a membership names its interface in the live socket's
// namespace.
func writeChange(w io.Writer, ch image.Change, ifs interfaces) {
	id, name, old, nw := uint16(0), ch.Path, quoted(ch.Old), quoted(ch.New)
	switch dir, rest, _ := strings.Cut(ch.Path, "/"); {
	case ch.Path == "state":
		id, name, old, nw = image.AttrState, "STATE", stateText(ch.Old), stateText(ch.New)
	case ch.Path == "local":
		id, name = image.AttrLocal, "LOCAL"
	case ch.Path == "peer":
		id, name = image.AttrPeer, "PEER"
	case dir == "membership":
		group, idx, _ := strings.Cut(rest, "@")
		n, _ := strconv.Atoi(idx)
		ifname := idx
		if s, ok := ifs.byIndex[int32(n)]; ok {
			ifname = s
		}
		id, name = image.AttrMreq, "  IPOPT_MREQ "+group+"@"+ifname
		old, nw = filterOrNone(ch.Old, "not joined"), filterOrNone(ch.New, "left")
	default:
		if o, ok := image.LookupOption(dir, rest); ok {
			id, name = o.Attr, o.AttrName()
		}
	}
	fmt.Fprintf(w, "%3d %-32s %s -> %s\n", id, name, old, nw)
}

func quoted(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func filterOrNone(s, none string) string {
	if s == "" {
		return "(" + none + ")"
	}
	return s
}

// stateText is a state number as decode shows it: "LISTEN (10)".
func stateText(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return image.StateName(uint8(n)) + " (" + s + ")"
}
