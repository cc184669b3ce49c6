package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/inetcr/inetcr/docs"
	"github.com/urfave/cli/v2"
)

// manCommand prints inetcr's man pages, which make install installs:
// inetcr(8) from the command line's own definitions (every command and
// flag, as --help shows them) and docs/service.md; inetcr(5) from
// docs/tree.md and docs/image-format.md. Made from what the program and
// its documents say, they cannot drift from either.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print a man page: inetcr(8), the command line; inetcr(5), the tree and the image format",
		UsageText: "inetcr man 8|5",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("man: want the section, 8 or 5")
			}
			var md string
			switch c.Args().First() {
			case "8":
				app, err := c.App.ToMarkdown()
				if err != nil {
					return fmt.Errorf("man: %w", err)
				}
				md = manPage8(app)
			case "5":
				md = manPage5()
			default:
				return fmt.Errorf("man: no section %q; there are 8 and 5", c.Args().First())
			}
			_, err := c.App.Writer.Write(roff(md))
			return err
		},
	}
}

// manPage8 is inetcr(8) in markdown: the app's own (urfave/cli's
// ToMarkdown), then how to run it as a service.
func manPage8(app string) string {
	return "% inetcr 8\n\n" + app + "\n" + manBody(docs.Service) +
		"\n# SEE ALSO\n\ninetcr(5), mount(8), mount.fuse3(8), fstab(5), systemd.service(5), ss(8)\n"
}

// manPage5 is inetcr(5) in markdown.
func manPage5() string {
	return "% inetcr 5\n\n# NAME\n\ninetcr - the socket tree that inetcr mounts, and the af_inet_cr image format\n\n" +
		manBody(docs.Tree) + "\n" + manBody(docs.ImageFormat) +
		"\n# SEE ALSO\n\ninetcr(8), socket(7), ip(7), tar(1)\n"
}

// docLink is a markdown link to another document or a part of one.
var docLink = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)

// manBody turns one of docs/ into sections of a page: links to other
// documents become their text (the page names the other page in SEE
// ALSO), and headings below the title move up one level, so that the
// title is a section (.SH) and its parts subsections (.SS).
func manBody(md string) string {
	md = docLink.ReplaceAllString(md, "$1")
	lines := strings.Split(md, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(l, "##") {
			lines[i] = l[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// roff renders markdown as a man page. Its first line must ask man to run
// the table preprocessor, which the documents' tables need (go-md2man
// writes it only for a page that has a table).
func roff(md string) []byte {
	man := wrapTables(string(md2man.Render([]byte(md))))
	// No hyphenation, in text blocks too: a name such as IPOPT_MULTICAST_TTL
	// must stay one word for a reader who searches for it.
	// (.TH turns it on again, so this goes after it.)
	if i := strings.Index(man, "\n.TH "); i >= 0 {
		if j := strings.Index(man[i+1:], "\n"); j >= 0 {
			man = man[:i+1+j+1] + ".nh\n.hy 0\n" + man[i+1+j+1:]
		}
	}
	if !strings.HasPrefix(man, "'\\\" t\n") {
		man = "'\\\" t\n" + man
	}
	return []byte(man)
}

// wrapTables lets the documents' wide tables fit a terminal: go-md2man
// gives every column its widest cell's width, and sets only some long
// cells as text blocks (T{ T}). Here every column is marked "x" (expand),
// so that tbl shares the line among them, and every cell but the header's
// is a text block, which wraps within its column.
func wrapTables(man string) string {
	var out strings.Builder
	for {
		i := strings.Index(man, "\n.TS\n")
		if i < 0 {
			out.WriteString(man)
			return out.String()
		}
		j := strings.Index(man[i:], "\n.TE\n")
		if j < 0 {
			out.WriteString(man)
			return out.String()
		}
		out.WriteString(man[:i+1])
		out.WriteString(wrapTable(man[i+1 : i+j+1]))
		man = man[i+j+1:]
	}
}

// wrapTable rewrites one table, from .TS to the line before .TE: the
// options line, the header's format, the rows' format (ending in "."),
// the header row, then the rows.
func wrapTable(t string) string {
	lines := strings.SplitN(t, "\n", 6)
	if len(lines) < 6 {
		return t
	}
	for k := 2; k <= 3; k++ {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(lines[k]), "."))
		for n := range f {
			f[n] = "lx"
		}
		lines[k] = strings.Join(f, " ")
	}
	lines[3] += " ."
	var b strings.Builder
	b.WriteString(strings.Join(lines[:5], "\n") + "\n")
	rest := lines[5]
	for rest != "" {
		// A cell is a text block already, or runs to the next tab or newline.
		var cell string
		if strings.HasPrefix(rest, "T{\n") {
			end := strings.Index(rest, "\nT}")
			if end < 0 {
				b.WriteString(rest)
				break
			}
			cell, rest = rest[3:end], rest[end+3:]
		} else {
			end := strings.IndexAny(rest, "\t\n")
			if end < 0 {
				end = len(rest)
			}
			cell, rest = rest[:end], rest[end:]
		}
		b.WriteString("T{\n" + cell + "\nT}")
		if rest != "" {
			b.WriteByte(rest[0]) // the tab or newline after the cell
			rest = rest[1:]
		}
	}
	return b.String()
}
