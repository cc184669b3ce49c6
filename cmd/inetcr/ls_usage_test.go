package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// ls --usage says, under either backend, what /proc/net/udp says of a
// socket that drops, and its holder's cgroup.
func TestLsUsage(t *testing.T) {
	bin := buildInetcr(t)
	h := netnstest.NewHolder(t)
	s := h.Socket("udp")
	s.SetInt(unix.SOL_SOCKET, unix.SO_RCVBUF, 1) // the kernel's minimum: a few datagrams fill it
	s.Must("bind", map[string]any{"addr": "127.0.0.1", "port": 5611})
	netnstest.MustSh(t, `python3 -c 'import socket; c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(200): c.sendto(b"x" * 1000, ("127.0.0.1", 5611))'`)
	var drops uint64
	for _, line := range strings.Split(netnstest.ReadFile(t, "/proc/net/udp"), "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 13 && f[9] == strconv.FormatUint(s.Inode, 10) {
			drops, _ = strconv.ParseUint(f[12], 10, 64)
		}
	}
	if drops == 0 {
		t.Fatal("the socket does not drop")
	}
	for _, backend := range []string{"stock", "exact"} {
		var entries []struct {
			Inode uint64 `json:"inode"`
			Usage *struct {
				Cgroup string  `json:"cgroup"`
				Drops  *uint64 `json:"drops"`
				RcvQ   *uint64 `json:"rcvq"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(ok(t, bin, nil, "--backend", backend, "ls", "--usage", "--netns", "self", "--json"), &entries); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			if e.Inode != s.Inode {
				continue
			}
			found = true
			if e.Usage == nil || e.Usage.Drops == nil || *e.Usage.Drops != drops || e.Usage.RcvQ == nil || *e.Usage.RcvQ == 0 || e.Usage.Cgroup == "" {
				t.Errorf("%s: usage %+v, want drops %d, a full queue and a cgroup", backend, e.Usage, drops)
			}
		}
		if !found {
			t.Errorf("%s: ls --usage does not list socket %d", backend, s.Inode)
		}
		table := string(ok(t, bin, nil, "--backend", backend, "ls", "--usage", "--netns", "self"))
		if !strings.Contains(strings.SplitN(table, "\n", 2)[0], "CGROUP  RECVQ") || !strings.Contains(table, " "+strconv.FormatUint(drops, 10)+"\n") {
			t.Errorf("%s: the table has no usage columns or not the drops:\n%s", backend, table)
		}
	}
}
