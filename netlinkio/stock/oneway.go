package stock

import "github.com/inetcr/inetcr/netlinkio/image"

// oneWay refuses, before anything changes, what the kernel would refuse
// halfway: turning off an option that never comes off (SO_LOCK_FILTER),
// or changing what such an option locks (the socket filter).
func oneWay(o *image.Option, before, want *image.Image) error {
	old, nv := before.Values[o.Attr], want.Values[o.Attr]
	if o.OneWay && old.Num != 0 && nv.Num == 0 {
		return image.AttrErrorf(o.Attr, "is on, and the kernel lets nobody turn it off")
	}
	if o.LockedBy != 0 && before.Values[o.LockedBy].Num != 0 && !old.Equal(nv) {
		return image.AttrErrorf(o.Attr, "cannot change: %s is on, and the kernel lets nobody turn it off", image.AttrName(o.LockedBy))
	}
	return nil
}

// lastStep is a OneWay row's step: it runs after every other step has
// succeeded, and nothing can undo it.
func lastStep(st step) step {
	st.undo = nil
	return st
}
