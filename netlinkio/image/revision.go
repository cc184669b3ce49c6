package image

import "fmt"

// TableRevision is the option table's revision. Rows are only ever
// appended; each new batch of rows takes the next revision in its Since
// field, and this constant follows. An image says which revision made it
// (TABLE_REVISION, absent in revision 1), so a row newer than the image is
// unknown to it: not off, not missing, and a restore leaves that option of
// the socket as it is. A backup made today restores unchanged after rows
// are added.
const TableRevision uint32 = 2

// AttrTableRevision is the image's TABLE_REVISION attribute (u32, the last
// attribute; absent when the revision is 1).
const AttrTableRevision uint16 = 300

// currentRevision is TableRevision; a test raises it to try a newer row.
var currentRevision = TableRevision

// since is the revision that added the row.
func (o *Option) since() uint32 { return max(o.Since, 1) }

// Rev is the table revision the image was made with: Revision, or the
// current one when Revision is 0 (an image built in memory).
func (img *Image) Rev() uint32 {
	if img.Revision == 0 {
		return currentRevision
	}
	return img.Revision
}

// Knows reports whether the image carries row o: o applies to its type, is
// no newer than its table revision, and, for a row only the exact reader
// sees (ExactOnly), the image has its value. A restore leaves an option the
// image does not know as the socket has it.
func (img *Image) Knows(o *Option) bool {
	if !img.hasRow(o) {
		return false
	}
	if o.ExactOnly {
		_, ok := img.Values[o.Attr]
		return ok
	}
	return true
}

// hasRow reports whether row o applies to the image's family, type and
// revision, whether or not the image has its value.
func (img *Image) hasRow(o *Option) bool {
	return o.Types.Has(img.Family, img.Type) && o.since() <= img.Rev()
}

// checkRevision refuses a revision this reader does not know.
func checkRevision(rev uint32) error {
	if rev < 1 || rev > currentRevision {
		return AttrErrorf(AttrTableRevision, "%d; this reader knows revisions 1 to %d (a newer inetcr made the image)", rev, currentRevision)
	}
	return nil
}

// newerRow is the error for a row that an image's revision does not know
// but the image carries.
func newerRow(o *Option, rev uint32) error {
	return AttrErrorf(o.Attr, "added in table revision %d, but the image is of revision %d", o.since(), rev)
}

// revisionText is the revision as docs show it.
func revisionText() string {
	values := "absent (this table is revision 1)"
	if TableRevision > 1 {
		values = fmt.Sprintf("2 to %d; absent means 1", TableRevision)
	}
	return "the option table's revision the image was made with: " + values + ". Rows newer than it are unknown to the image: restore leaves those options as they are"
}
