package stock

import (
	"errors"
	"fmt"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// A row with a With row shares its option call with it: IP_MULTICAST_IF
// takes the address (multicast_if) and the interface index
// (multicast_ifindex) in one struct ip_mreqn; IP_TTL takes either a TTL
// (ttl) or -1, "follow net.ipv4.ip_default_ttl" (ttl_default), and
// IPV6_UNICAST_HOPS and TCP_LINGER2 likewise take a value or the row's
// Follow (unicast_hops_default, linger2_default). Only the
// exact reader sees the second of each pair, so a restore that knows it
// sets the two in one call and a restore that does not sets the first
// alone, as before.

var errUnreadable = errors.New("getsockopt cannot read it")

func getUnreadable(int, *image.Option) (image.Value, error) { return image.Value{}, errUnreadable }

// pairStep is the step that sets row o and its With row w to want's values
// in one call, or false when before has both already. A before without o
// (the stock reader's) cannot say, so the step is made: it sets what the
// socket may have already, which changes nothing.
func pairStep(fd int, o *image.Option, before, want *image.Image) (step, bool) {
	w := o.WithRow()
	nv, nw := want.Values[o.Attr], want.Values[w.Attr]
	ov, known := before.Values[o.Attr]
	ow := before.Values[w.Attr]
	if known && pairEqual(o, ov, ow, nv, nw) {
		return step{}, false
	}
	name := fmt.Sprintf("set %s to %s and %s to %s", w.AttrName(), w.Format(nw), o.AttrName(), o.Format(nv))
	return step{
		name:  name,
		do:    func() error { return setPair(fd, o, nv, nw) },
		check: func() error { return checkPair(fd, o, w, nv, nw) },
		undo: func() error {
			if known {
				return setPair(fd, o, ov, ow)
			}
			return kinds[w.Kind].set(fd, w, ow)
		},
	}, true
}

// pairEqual reports whether two states of a pair are the same: a socket
// that follows a default follows it whatever the default's value.
func pairEqual(o *image.Option, ov, ow, nv, nw image.Value) bool {
	if o.Kind == image.FollowsDefault && ov.Num == 1 && nv.Num == 1 {
		return true
	}
	return ov.Equal(nv) && ow.Equal(nw)
}

// setPair makes the one call that sets o (v) and its With row (w).
func setPair(fd int, o *image.Option, v, w image.Value) error {
	switch o.Kind {
	case image.McastIfIndex:
		addr := image.Value{Bytes: w.Bytes}
		b := append(make([]byte, 4), addr.Bytes...) // imr_multiaddr is not used
		b = native.AppendUint32(b, uint32(v.Num))
		return setRaw(fd, o.Level, o.Opt, b)
	case image.FollowsDefault:
		if v.Num == 1 {
			return unix.SetsockoptInt(fd, o.Level, o.Opt, o.Follow)
		}
		wr := o.WithRow()
		return kinds[wr.Kind].set(fd, wr, w)
	}
	return fmt.Errorf("%s: no paired setter for kind %d", o.AttrName(), o.Kind)
}

// checkPair reads back what getsockopt can of the pair: the With row,
// unless the socket follows a default (then the row reads as whatever
// the default is).
func checkPair(fd int, o, w *image.Option, v, wv image.Value) error {
	if o.Kind == image.FollowsDefault && v.Num == 1 {
		return nil
	}
	got, err := get(fd, w)
	if err != nil {
		return err
	}
	if !got.Equal(wv) {
		return &ReadBackError{Attr: w.AttrName(), Asked: w.Format(wv), Kept: w.Format(got)}
	}
	return nil
}
