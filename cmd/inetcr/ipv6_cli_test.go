package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/inetcr/inetcr/internal/netnstest"
	"golang.org/x/sys/unix"
)

// The command line on an AF_INET6 socket: ls shows it as udp6 [::]:PORT
// with its IPv6 group counted, decode names the IPv6 attributes, the JSON
// form gives back the very bytes, and restore refuses it onto an AF_INET
// socket naming FAMILY.
func TestCLIIPv6(t *testing.T) {
	netnstest.Require(t, "python3", "ip")
	bin := buildInetcr(t)
	ifindex := netnstest.Veth6(t, "cli6", "2001:db8:c1::1/64")
	h := netnstest.NewHolder(t)
	s := h.Socket6("udp")
	var r struct {
		Local []any `json:"local"`
	}
	h.Must(map[string]any{"op": "bind", "fd": s.Fd, "addr": "::", "port": 0}, &r)
	port := strconv.Itoa(int(r.Local[1].(float64)))
	s.SetInt(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 23)
	s.Must("join6", map[string]any{"group": "ff02::fb", "ifindex": ifindex})
	ino := strconv.FormatUint(s.Inode, 10)

	table := string(ok(t, bin, nil, "ls"))
	if !regexp.MustCompile(`(?m)^` + ino + `\s+\S+\s+udp6\s+\[::\]:` + port + `\s+\[::\]:0\s+CLOSE\s+0\s+` + strconv.Itoa(h.Pid()) + `\s+python3\s+1$`).MatchString(table) {
		t.Errorf("ls line of the AF_INET6 socket is not as expected:\n%s", table)
	}
	var entries []struct {
		Inode  uint64 `json:"inode"`
		Family string `json:"family"`
		Local  string `json:"local"`
	}
	if err := json.Unmarshal(ok(t, bin, nil, "ls", "--json"), &entries); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Inode == s.Inode {
			found = e.Family == "AF_INET6" && e.Local == "[::]:"+port
			if !found {
				t.Errorf("ls --json: %+v", e)
			}
		}
	}
	if !found {
		t.Error("ls --json lacks the AF_INET6 socket")
	}

	img := ok(t, bin, nil, "dump", ino)
	text := string(ok(t, bin, img, "decode"))
	for _, want := range []string{"FAMILY                           AF_INET6 (10)", "LOCAL                            [::]:" + port, "IP6OPT_UNICAST_HOPS              23", "IP6OPT_MEMBERSHIP                1 membership", "IP6OPT_MREQ                    ff02::fb ifindex " + strconv.Itoa(ifindex) + " (cli6)", "IPOPT_MEMBERSHIP                 0 memberships"} {
		if !strings.Contains(text, want) {
			t.Errorf("decode lacks %q:\n%s", want, text)
		}
	}
	js := ok(t, bin, img, "decode", "--json")
	if !bytes.Contains(js, []byte(`"family": "AF_INET6"`)) && !bytes.Contains(js, []byte(`"family":"AF_INET6"`)) {
		t.Errorf("decode --json: %s", js)
	}
	if back := ok(t, bin, js, "encode"); !bytes.Equal(back, img) {
		t.Error("decode --json | encode does not give back the image")
	}
	v4 := h.Socket("udp")
	refused(t, bin, img, "inetcr: restore "+strconv.FormatUint(v4.Inode, 10)+": FAMILY: image is AF_INET6, socket is AF_INET", "restore", strconv.FormatUint(v4.Inode, 10))
}
