package image

// Set gives row o the value v in the image as a write of o's file does:
// a value the image already has changes nothing; another one is set, and
// the row that shares o's option call (Paired: the interface index of a
// multicast address, "follow the default" of a TTL) is dropped, since a
// plain setsockopt of o lets the kernel decide it. Set reports whether the
// image changed. The caller checks that o applies to the image's type.
func (img *Image) Set(o *Option, v Value) bool {
	if old, ok := img.Values[o.Attr]; ok && old.Equal(v) {
		return false
	}
	img.Values[o.Attr] = v
	if p := o.Paired(); p != nil {
		delete(img.Values, p.Attr)
	}
	return true
}
