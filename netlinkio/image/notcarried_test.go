package image_test

import (
	"os"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
)

const optionsDocPath = "../../docs/options.md"

// docs/options.md holds two generated tables: the rows of table revision
// 2 and the not-carried list.
func TestOptionsDocIsCurrent(t *testing.T) {
	raw, err := os.ReadFile(optionsDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, g := range []struct{ name, want string }{
		{"ROWS", image.RevisionRows(2)},
		{"NOT CARRIED", image.NotCarriedTable()},
	} {
		begin, end := "<!-- BEGIN GENERATED "+g.name+" -->\n", "<!-- END GENERATED "+g.name+" -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s: want %q followed by %q", optionsDocPath, begin, end)
		}
		if have := doc[i+len(begin) : j]; have != g.want {
			doc = doc[:i+len(begin)] + g.want + doc[j:]
			if !docUpdateFlag() {
				t.Errorf("the %s table of %s is out of date; run go test ./netlinkio/image -run TestOptionsDocIsCurrent -update\n%s", g.name, optionsDocPath, docLineDiff(have, g.want))
			}
		}
	}
	if docUpdateFlag() {
		if err := os.WriteFile(optionsDocPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Every entry of the not-carried list says why, and none is a row.
func TestNotCarriedSaysWhy(t *testing.T) {
	for _, u := range image.NotCarried {
		if u.Name == "" || len(u.Why) < 10 {
			t.Errorf("%v: no name or no reason", u)
		}
		for _, o := range image.Options {
			if o.Level == u.Level && o.Opt == u.Opt {
				t.Errorf("%s is the row %s", u.Name, o.Path())
			}
		}
	}
}
