package image

import "fmt"

// IPV6_ADDR_PREFERENCES bits (linux/in6.h).
const (
	preferSrcTmp           = 0x0001
	preferSrcPublic        = 0x0002
	preferSrcCoa           = 0x0004
	preferSrcPubtmpDefault = 0x0100
	preferSrcHome          = 0x0400
)

// checkAddrPrefs accepts exactly the forms getsockopt reports: one of
// TMP, PUBLIC and PUBTMP_DEFAULT with one of COA and HOME. The kernel
// takes other combinations (CGA, NONCGA, a bit left out) but reports them
// as one of these, so an image holding one could never be restored as it
// says.
func checkAddrPrefs(o *Option, v Value) error {
	src := v.Num & (preferSrcTmp | preferSrcPublic | preferSrcPubtmpDefault)
	home := v.Num & (preferSrcCoa | preferSrcHome)
	rest := v.Num &^ (src | home)
	if rest != 0 || !oneBit(src) || !oneBit(home) {
		return AttrErrorf(o.Attr, "value %#x is not %s", v.Num, textAddrPrefs(o))
	}
	return nil
}

func oneBit(n uint64) bool { return n != 0 && n&(n-1) == 0 }

func textAddrPrefs(*Option) string {
	return fmt.Sprintf("integer: one of %d (tmp), %d (public), %d (pubtmp_default), plus one of %d (coa), %d (home)",
		preferSrcTmp, preferSrcPublic, preferSrcPubtmpDefault, preferSrcCoa, preferSrcHome)
}
