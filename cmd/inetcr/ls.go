package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list the IPv4 and IPv6 sockets of every network namespace",
		UsageText: "inetcr ls [--json] [--no-memberships] [--usage] [--netns all|self|NAME|PATH]",
		Description: "Lists every AF_INET and AF_INET6 socket (UDP, UDP-Lite, TCP, RAW) that some process holds,\n" +
			"bound or not, in every network namespace (--netns limits it to one), by inode: its namespace\n" +
			"(its name under /run/netns, or net:[INODE]), protocol (udp6, tcp6, raw6:N for AF_INET6),\n" +
			"local and peer address (an IPv6 one as [ADDR]:PORT), state, owner uid, the process holding it (pid and\n" +
			"command; \"+N\" when N more hold it too) and its number of multicast memberships.\n\n" +
			"Counting memberships needs a dump of the socket, so it is done only when it can matter:\n" +
			"never for TCP (which cannot join groups), and not at all when /proc/net/igmp and igmp6\n" +
			"show no group beyond those the kernel joins itself (224.0.0.1, ff02::1, ff01::1, ff02::2\n" +
			"and solicited-node groups; then every count is 0). A socket that cannot\n" +
			"be dumped (no holder, no permission) shows \"?\". --no-memberships skips the column's\n" +
			"work and shows \"-\".",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array for scripts (docs/cli.md has its fields)"},
			&cli.BoolFlag{Name: "no-memberships", Usage: "do not count multicast memberships (no dump per socket)"},
			&cli.BoolFlag{Name: "usage", Usage: "add the holder's cgroup (its container), the receive queue (bytes used of the limit) and the drop count (SO_MEMINFO: one duplicate of each socket)"},
			&cli.StringFlag{Name: "netns", Value: "all", Usage: "list one network namespace: self, a NAME under /run/netns or a PATH such as /proc/PID/ns/net"},
		},
		Action: runLs,
	}
}

// lsEntry is one socket of `ls --json`.
type lsEntry struct {
	Inode     uint64     `json:"inode"`
	Netns     uint64     `json:"netns"`      // the inode of its network namespace, net:[NETNS]
	NetnsName string     `json:"netns_name"` // its name under /run/netns, "" when none
	Family    string     `json:"family"`
	Type      string     `json:"type"`
	Protocol  any        `json:"protocol"` // "udp", "udplite", "tcp" or a number
	State     string     `json:"state"`
	Local     string     `json:"local"`
	Peer      string     `json:"peer"`
	UID       uint32     `json:"uid"`
	Holders   []lsHolder `json:"holders"`
	Usage     *lsUsage   `json:"usage,omitempty"` // with --usage
	// Memberships is null when not counted (--no-memberships) or when the
	// socket could not be dumped.
	Memberships *int `json:"memberships"`
}

type lsHolder struct {
	Pid  int    `json:"pid"`
	Fd   int    `json:"fd"`
	Comm string `json:"comm"`
}

func runLs(c *cli.Context) error {
	if err := noArgs(c, "ls"); err != nil {
		return err
	}
	b, err := openBackend(c)
	if err != nil {
		return err
	}
	defer b.Close()
	only, err := netlinkio.NetnsFilter(c.String("netns"))
	if err != nil {
		return fmt.Errorf("ls: %w", err)
	}
	socks, err := b.List()
	if err != nil {
		return fmt.Errorf("ls: %w", err)
	}
	if only != 0 {
		var mine []image.Socket
		for _, s := range socks {
			if s.Netns == only {
				mine = append(mine, s)
			}
		}
		socks = mine
	}
	nsNames := netlinkio.NetnsNames()
	count := !c.Bool("no-memberships")
	usage := c.Bool("usage")
	anyGroups := count && netlinkio.AnyGroups()
	entries := make([]lsEntry, 0, len(socks))
	for _, s := range socks {
		e := lsEntry{
			Inode:     s.Inode,
			Netns:     s.Netns,
			NetnsName: nsNames[s.Netns],
			Family:    image.FamilyName(s.Family),
			Type:      image.TypeName(s.Type),
			Protocol:  image.ProtocolJSON(s.Protocol),
			State:     image.StateName(s.State),
			Local:     image.AddrPortString(s.Local),
			Peer:      image.AddrPortString(s.Peer),
			UID:       s.UID,
			Holders:   []lsHolder{},
		}
		// A socket nobody holds (or whose holder went away) has no
		// holders; that is not an error for a listing.
		hs, _ := b.Holders(s.Inode)
		for _, h := range hs {
			e.Holders = append(e.Holders, lsHolder{Pid: h.Pid, Fd: h.Fd, Comm: h.Comm})
		}
		if usage {
			e.Usage = socketUsage(b, s.Inode, hs)
		}
		switch {
		case !count:
		case s.Type == unix.SOCK_STREAM || !anyGroups:
			e.Memberships = new(int)
		case len(hs) > 0:
			if img, err := b.Dump(s.Inode); err == nil {
				n := len(img.Memberships)
				e.Memberships = &n
			}
		}
		entries = append(entries, e)
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
	head := "INODE\tNETNS\tPROTO\tLOCAL\tPEER\tSTATE\tUID\tPID\tCOMMAND\tGROUPS"
	if usage {
		head += "\tCGROUP\tRECVQ\tDROPS"
	}
	fmt.Fprintln(tw, head)
	for i, e := range entries {
		pid, comm := "-", "-"
		if len(e.Holders) > 0 {
			pid, comm = strconv.Itoa(e.Holders[0].Pid), e.Holders[0].Comm
			if n := distinctPids(e.Holders) - 1; n > 0 {
				pid += "+" + strconv.Itoa(n)
			}
		}
		groups := "-"
		switch {
		case e.Memberships != nil:
			groups = strconv.Itoa(*e.Memberships)
		case count:
			groups = "?"
		}
		ns := e.NetnsName
		if ns == "" {
			ns = netlinkio.NetnsString(e.Netns)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s", e.Inode, ns, protoColumn(socks[i].Family, socks[i].Type, socks[i].Protocol),
			e.Local, e.Peer, e.State, e.UID, pid, comm, groups)
		if usage {
			fmt.Fprint(tw, "\t"+e.Usage.columns())
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func distinctPids(hs []lsHolder) int {
	seen := map[int]bool{}
	for _, h := range hs {
		seen[h.Pid] = true
	}
	return len(seen)
}

// protoColumn is the PROTO column: udp, udplite, tcp, or raw:N, with a 6
// after the name for AF_INET6 (udp6, raw6:17), as netstat writes them.
func protoColumn(family, typ, proto uint16) string {
	name := image.SocketName(typ, proto)
	if family == unix.AF_INET6 {
		name += "6"
	}
	if typ == unix.SOCK_RAW {
		return name + ":" + strconv.Itoa(int(proto))
	}
	return name
}
