package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
)

func decodeCommand() *cli.Command {
	return &cli.Command{
		Name:      "decode",
		Usage:     "show an image as readable text or JSON",
		UsageText: "inetcr decode [--json] [FILE]",
		Description: "Reads an image from FILE (or stdin, or \"-\"), validates it as strictly as a restore does,\n" +
			"and prints it: one line per attribute with its id, its name and its value in the text\n" +
			"form of the tree's file (addresses dotted-quad, flags 0 or 1, a hint in parentheses).\n" +
			"Flags that are off are absent from an image; decode shows them as 0 (off).\n" +
			"With --json it prints the JSON form that inetcr encode reads back (docs/cli.md).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the image's JSON form"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return fmt.Errorf("decode: want at most one FILE, got %d (see inetcr decode --help)", c.NArg())
			}
			path := c.Args().First()
			op := "decode"
			if path != "" && path != "-" {
				op += " " + path
			}
			data, err := readInput(op, path, image.MaxImageSize+1)
			if err != nil {
				return err
			}
			img, err := image.Decode(data)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if c.Bool("json") {
				b, err := json.MarshalIndent(img, "", "  ")
				if err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				_, err = c.App.Writer.Write(append(b, '\n'))
				return err
			}
			return writeText(c.App.Writer, img)
		},
	}
}

// writeText prints an image one attribute a line, in the image's canonical
// order: id, name, value.
func writeText(w io.Writer, img *image.Image) error {
	line := func(id uint16, indent bool, value string) {
		name := image.AttrName(id)
		if indent {
			name = "  " + name
		}
		fmt.Fprintf(w, "%3d %-32s %s\n", id, name, value)
	}
	line(image.AttrVersion, false, strconv.Itoa(image.ImageVersion))
	line(image.AttrFamily, false, fmt.Sprintf("%s (%d)", image.FamilyName(img.Family), img.Family))
	line(image.AttrType, false, fmt.Sprintf("%s (%d)", image.TypeName(img.Type), img.Type))
	line(image.AttrProtocol, false, fmt.Sprintf("%s (%d)", image.ProtocolName(img.Protocol), img.Protocol))
	line(image.AttrState, false, fmt.Sprintf("%s (%d)", image.StateName(img.State), img.State))
	line(image.AttrLocal, false, image.AddrPortString(img.Local))
	peer := image.AddrPortString(img.Peer)
	if img.Flowinfo != 0 {
		peer += fmt.Sprintf(" flowinfo %#x", img.Flowinfo)
	}
	line(image.AttrPeer, false, peer)
	c := img.Clone()
	c.Canonicalize()
	opts := image.SharedOptionsFor(img.Family, img.Type)
	v4, v6 := image.GroupFamilies(img.Family, img.Type)
	lists := []struct {
		on         bool
		list, mreq uint16
		v6         bool
	}{{v4, image.AttrMembership, image.AttrMreq, false}, {v6, image.AttrMembership6, image.AttrMreq6, true}}
	printMemberships := func(below uint16) {
		for len(lists) > 0 && lists[0].list < below {
			l := lists[0]
			lists = lists[1:]
			if l.on {
				printList(line, c, l.list, l.mreq, l.v6)
			}
		}
	}
	for _, o := range opts {
		printMemberships(o.Attr)
		v, known := c.Values[o.Attr]
		if !known && !c.Knows(o) {
			line(o.Attr, false, "(not in this image: added in a later table revision; restore leaves it)")
			continue
		}
		text := o.Format(v)
		switch h := hint(o, v); {
		case h != "" && text == "":
			text = "(" + h + ")"
		case h != "":
			text += " (" + h + ")"
		case text == "":
			text = `""`
		}
		line(o.Attr, false, text)
	}
	printMemberships(^uint16(0))
	return nil
}

// printList prints one list of memberships: the IPv4 or the IPv6 groups.
func printList(line func(uint16, bool, string), c *image.Image, list, mreq uint16, v6 bool) {
	var ms []image.Membership
	for _, m := range c.Memberships {
		if m.Group.Is6() == v6 {
			ms = append(ms, m)
		}
	}
	line(list, false, plural(len(ms), "membership"))
	for _, m := range ms {
		v := fmt.Sprintf("%s ifindex %d%s", m.Group, m.Ifindex, ifName(int(m.Ifindex)))
		if !v6 {
			v += " address " + m.Address.String()
		}
		if m.HasFilter() {
			srcs := make([]string, len(m.Sources))
			for i, s := range m.Sources {
				srcs[i] = s.String()
			}
			v += " filter " + image.ModeName(m.Mode) + " " + strings.Join(srcs, ",")
		}
		line(mreq, true, v)
	}
}

// hint says in words what a value means, where the number alone does not.
func hint(o *image.Option, v image.Value) string {
	switch o.Kind {
	case image.Filter:
		if v.Num == 1 {
			return "an eBPF filter, which cannot be restored"
		}
		if len(v.Bytes) == 0 {
			return "none"
		}
		return plural(len(v.Bytes)/8, "instruction")
	case image.Flag, image.BufLock, image.TstampNew:
		if v.Num != 0 {
			return "on"
		}
		return "off"
	case image.Micros:
		if v.Num == 0 && v.Num2 == 0 {
			return "none"
		}
		if sec, usec := v.Timeval(); sec >= 1<<33 { // past what a time.Duration holds
			return fmt.Sprintf("%d.%06ds", sec, usec)
		}
		return (time.Duration(v.Num) * time.Microsecond).String()
	case image.Linger:
		if v.Num == 0 {
			return "off"
		}
		return "on, " + plural(int(v.Num2), "second")
	case image.IfName:
		if len(v.Bytes) == 0 {
			return "none"
		}
	case image.RawOptions:
		if len(v.Bytes) == 0 {
			return "none"
		}
		return plural(len(v.Bytes), "byte")
	case image.IfIndexBE:
		if v.Num == 0 {
			return "none"
		}
		return strings.Trim(ifName(int(v.Num)), " ()")
	case image.InAddr:
		if string(v.Bytes) == "\x00\x00\x00\x00" {
			return "default"
		}
	}
	if (o.Dir == "ipopt" || o.Dir == "ip6opt") && o.Name == "mtu_discover" {
		names := []string{"dont", "want", "do", "probe", "interface", "omit"}
		if v.Num < uint64(len(names)) {
			return names[v.Num]
		}
	}
	return ""
}

// ifName is " (eth0)" for an ifindex of this network namespace, or "".
func ifName(ifindex int) string {
	ifi, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return ""
	}
	return " (" + ifi.Name + ")"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
