package image

// validateTstampNew checks what the kernel keeps of SOCK_TSTAMP_NEW: the
// flag shows only while SO_TIMESTAMP, SO_TIMESTAMPNS or SO_TIMESTAMPING
// is on, so an image that has it on with all of them off is no socket's.
func (img *Image) validateTstampNew() error {
	var flag, on bool
	for i := range Options {
		o := &Options[i]
		if !img.Knows(o) {
			continue
		}
		switch o.Kind {
		case TstampNew:
			flag = img.Values[o.Attr].Num != 0
			if flag && !on {
				return AttrErrorf(o.Attr, "is 1 with no timestamping option on (it shows only while one is)")
			}
		case Tstamp, Timestamping:
			on = on || img.Values[o.Attr].Num != 0
		}
	}
	return nil
}
