package image_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// Only ErrNoSocket reads as "no such socket"; a missing file says what it
// is. Both are ENOENT to errors.Is.
func TestNoSocketIsTyped(t *testing.T) {
	_, missing := os.Open("/proc/self/no/such/file")
	for _, c := range []struct {
		err  error
		want string
	}{
		{image.ErrNoSocket, "dump 7: no such socket"},
		{fmt.Errorf("holder exited: %w", image.ErrNoSocket), "dump 7: no such socket"},
		{missing, "dump 7: " + missing.Error()},
		{syscall.ENOENT, "dump 7: no such file or directory"},
	} {
		err := &image.OpError{Op: "dump", Inode: 7, Err: c.err}
		if err.Error() != c.want {
			t.Errorf("%v: %q, want %q", c.err, err.Error(), c.want)
		}
		if !errors.Is(err, syscall.ENOENT) {
			t.Errorf("%v: not ENOENT", c.err)
		}
	}
	if errors.Is(missing, image.ErrNoSocket) || errors.Is(syscall.ENOENT, image.ErrNoSocket) {
		t.Error("a plain ENOENT is ErrNoSocket")
	}
}

// A membership's rules are judged in one place, Validate: the binary
// image, the JSON form and an image built in memory are refused with the
// same words, the JSON form naming the field.
func TestMembershipRulesOneWording(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(*image.Membership)
		attr  string
		field string
		want  string
	}{
		{"source multicast", func(m *image.Membership) { m.Sources = cAddrs("10.0.0.1", "239.0.0.1") }, "IPOPT_MSF_SOURCE", "memberships[0].sources[1]", "source 239.0.0.1 is not a unicast IPv4 address"},
		{"source twice", func(m *image.Membership) { m.Sources = cAddrs("10.0.0.1", "10.0.0.1") }, "IPOPT_MSF_SOURCE", "memberships[0].sources[1]", "source 10.0.0.1 is listed twice"},
		{"include none", func(m *image.Membership) { m.Mode, m.Sources = image.ModeInclude, nil }, "IPOPT_SOURCE_FILTER", "memberships[0].sources", "group 239.1.1.1: INCLUDE with no sources is no membership"},
		{"group unicast", func(m *image.Membership) { m.Group = cAddr("10.1.1.1") }, "IPOPT_MREQ", "memberships[0].group", "group 10.1.1.1 is not an IPv4 multicast address"},
		{"ifindex 0", func(m *image.Membership) { m.Ifindex = 0 }, "IPOPT_MREQ", "memberships[0].ifindex", "group 239.1.1.1 has ifindex 0; a membership names its interface"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := defaults(syscall.SOCK_DGRAM)
			m := image.Membership{Group: cAddr("239.1.1.1"), Address: cAddr("0.0.0.0"), Ifindex: 1}
			c.edit(&m)
			img.Memberships = []image.Membership{m}
			_, decErr := image.Decode(img.Encode())
			for _, got := range []struct {
				form string
				err  error
				attr string
			}{
				{"Validate", img.Validate(), c.attr},
				{"Decode", decErr, c.attr},
				{"DecodeJSON", decodeJSONOf(t, m), c.field},
			} {
				want := got.attr + ": " + c.want
				if got.err == nil || got.err.Error() != want {
					t.Errorf("%s: %v, want %q", got.form, got.err, want)
				}
			}
		})
	}
}

// decodeJSONOf decodes the JSON form of an image with the one membership
// m, written by hand since MarshalJSON refuses an invalid image.
func decodeJSONOf(t *testing.T, m image.Membership) error {
	t.Helper()
	b, err := json.Marshal(defaults(syscall.SOCK_DGRAM))
	if err != nil {
		t.Fatal(err)
	}
	srcs := []string{}
	for _, s := range m.Sources {
		srcs = append(srcs, s.String())
	}
	e, _ := json.Marshal(map[string]any{"group": m.Group.String(), "ifindex": m.Ifindex, "mode": image.ModeName(m.Mode), "sources": srcs})
	in := strings.Replace(string(b), `"memberships":[]`, `"memberships":[`+string(e)+`]`, 1)
	_, err = image.DecodeJSON([]byte(in))
	return err
}
