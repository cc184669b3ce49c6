package image

// validateTstampNew checks what the kernel keeps of SOCK_TSTAMP_NEW: the
// flag shows only while SO_TIMESTAMP, SO_TIMESTAMPNS or SO_TIMESTAMPING
// is on, so an image that has it on with all of them off is no socket's.
func (img *Image) validateTstampNew() error {
	on := false // a timestamping option of a lower id (the table's order)
	for i := range Options {
		o := &Options[i]
		if !img.Knows(o) {
			continue
		}
		switch o.Kind {
		case TstampNew:
			if img.Values[o.Attr].Num != 0 && !on {
				return AttrErrorf(o.Attr, "is 1 with no timestamping option on (it shows only while one is)")
			}
		case Tstamp, Timestamping:
			on = on || img.Values[o.Attr].Num != 0
		}
	}
	return nil
}

// Follows reports whether a restore of want onto a socket whose image is
// before leaves row o as the socket has it, though the two differ: want
// has a value the kernel takes from nobody (KernelsOwn), or the row shows
// another view of its Shadow row, which the restore changes to a name
// (SO_BINDTOIFINDEX follows the device's name, which means the same in
// another namespace; an image without a name goes by the index).
func (o *Option) Follows(before, want *Image) bool {
	if o.KernelsOwn(want.Values[o.Attr]) {
		return true
	}
	if o.Shadow == 0 {
		return false
	}
	nv := want.Values[o.Shadow]
	return len(nv.Bytes) > 0 && !before.Values[o.Shadow].Equal(nv)
}
