// Package docs holds the project's documents, so that the programs can
// show them: inetcr's man pages are made from them (inetcr man), and so
// cannot say something the documents do not.
package docs

import _ "embed"

// The documents the man pages are made of.
var (
	//go:embed tree.md
	Tree string
	//go:embed image-format.md
	ImageFormat string
	//go:embed service.md
	Service string
)
