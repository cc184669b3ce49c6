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

// follows reports whether a restore leaves row o as the socket has it:
// a value the kernel takes from nobody, or a row that follows its shadow
// row, which the restore changes to a name (SO_BINDTOIFINDEX follows the
// device's name, which means the same in another namespace). An image
// without the name (none, or a device that is gone) goes by the index.
func follows(o *image.Option, before, want *image.Image) bool {
	if o.KernelsOwn(want.Values[o.Attr]) {
		return true // the kernel's own value, which nobody sets
	}
	if o.Shadow == 0 {
		return false
	}
	nv := want.Values[o.Shadow]
	return len(nv.Bytes) > 0 && !before.Values[o.Shadow].Equal(nv)
}
