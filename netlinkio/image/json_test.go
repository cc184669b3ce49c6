package image_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
)

// sampleImage builds a valid image of a socket type with a non-default value
// in every option, so that a lost field shows in the round trip.
func jsonSampleImage(t *testing.T, typ, proto uint16, state uint8) *image.Image {
	t.Helper()
	img := &image.Image{
		Family:   unix.AF_INET,
		Type:     typ,
		Protocol: proto,
		State:    state,
		Local:    netip.MustParseAddrPort("10.0.0.1:5000"),
		Peer:     netip.MustParseAddrPort("0.0.0.0:0"),
		Values:   map[uint16]image.Value{},
	}
	for i, o := range image.OptionsFor(unix.AF_INET, typ) {
		var text string
		switch o.Kind {
		case image.Flag, image.BufLock:
			text = strconv.Itoa(i % 2)
		case image.U8, image.U32, image.IfIndexBE, image.Micros, image.McastIfIndex, image.FollowsDefault, image.MSS:
			text = strconv.FormatUint(max(o.Min, min(o.Max, 3)), 10)
		case image.BufSize:
			text = "212992"
		case image.Linger:
			text = "1 7"
		case image.IfName:
			text = "veth0"
		case image.InAddr:
			text = "10.0.0.1"
		case image.RawOptions:
			text = "94040000"
		case image.U64, image.Tstamp:
			text = "2"
		case image.S32:
			text = "-1"
		case image.Name:
			text = "reno"
		case image.Filter:
			text = "06000000ffffffff"
		case image.TstampNew:
			text = "1"
		case image.Timestamping:
			text = "26"
		case image.TxTime:
			text = "1 2"
		}
		v, err := o.Parse(text)
		if err != nil {
			t.Fatalf("sample %s: %v", o.Path(), err)
		}
		img.Values[o.Attr] = v
	}
	if typ != unix.SOCK_STREAM {
		img.Memberships = []image.Membership{
			{Group: netip.MustParseAddr("239.9.9.9"), Address: netip.IPv4Unspecified(), Ifindex: 3},
			{Group: netip.MustParseAddr("239.1.2.3"), Address: netip.IPv4Unspecified(), Ifindex: 3,
				Mode: image.ModeInclude, Sources: []netip.Addr{netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("10.0.0.5")}},
			{Group: netip.MustParseAddr("232.1.1.1"), Address: netip.MustParseAddr("10.0.0.1"), Ifindex: 2,
				Mode: image.ModeExclude, Sources: []netip.Addr{netip.MustParseAddr("10.1.1.1")}},
		}
	}
	if err := img.Validate(); err != nil {
		t.Fatalf("sample image is invalid: %v", err)
	}
	return img
}

var jsonSamples = []struct {
	name  string
	typ   uint16
	proto uint16
	state uint8
}{
	{"udp", unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7},
	{"udplite", unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE, 7},
	{"tcp-listen", unix.SOCK_STREAM, unix.IPPROTO_TCP, 10},
	{"tcp-close", unix.SOCK_STREAM, unix.IPPROTO_TCP, 7},
	{"raw255", unix.SOCK_RAW, 255, 7},
	{"raw-icmp", unix.SOCK_RAW, unix.IPPROTO_ICMP, 7},
	{"raw-udp", unix.SOCK_RAW, unix.IPPROTO_UDP, 7},
}

func TestJSONRoundTrip(t *testing.T) {
	for _, tc := range jsonSamples {
		t.Run(tc.name, func(t *testing.T) {
			img := jsonSampleImage(t, tc.typ, tc.proto, tc.state)
			j1, err := json.Marshal(img)
			if err != nil {
				t.Fatal(err)
			}
			// Image -> JSON -> Image -> Encode: byte-identical.
			back, err := image.DecodeJSON(j1)
			if err != nil {
				t.Fatalf("DecodeJSON(%s): %v", j1, err)
			}
			if !bytes.Equal(back.Encode(), img.Encode()) {
				t.Fatalf("image changed through JSON:\n%s", j1)
			}
			// JSON -> Image -> JSON: identical text.
			j2, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(j1, j2) {
				t.Fatalf("JSON changed:\n%s\n%s", j1, j2)
			}
			// The binary path agrees: Decode(Encode(img)) marshals the same.
			dec, err := image.Decode(img.Encode())
			if err != nil {
				t.Fatal(err)
			}
			j3, err := json.Marshal(dec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(j1, j3) {
				t.Fatalf("JSON of the decoded image differs:\n%s\n%s", j1, j3)
			}
			// Indented JSON, as `inetcr decode --json` prints it, and
			// json.Unmarshal into an Image read the same.
			ind, err := json.MarshalIndent(img, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			var viaUnmarshal image.Image
			if err := json.Unmarshal(ind, &viaUnmarshal); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(viaUnmarshal.Encode(), img.Encode()) {
				t.Fatal("indented JSON decodes to another image")
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	img := jsonSampleImage(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7)
	b, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`{"version":1,` + revisionJSON() + `"family":"AF_INET","type":"SOCK_DGRAM","protocol":"udp","state":"CLOSE","local":"10.0.0.1:5000","peer":"0.0.0.0:0","sockopt":{"reuseaddr":`,
		`"ttl":"3"`,
		`"sndbuf":"212992"`,
		`"linger":"1 7"`,
		`"options":"94040000"`,
		`"memberships":[{"group":"232.1.1.1","ifindex":2,"address":"10.0.0.1","mode":"exclude","sources":["10.1.1.1"]},{"group":"239.1.2.3","ifindex":3,"address":"0.0.0.0","mode":"include","sources":["10.0.0.5","10.0.0.9"]},{"group":"239.9.9.9","ifindex":3,"address":"0.0.0.0","mode":"exclude","sources":[]}]}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s\n%s", want, s)
		}
	}
	// A level's object is there for the socket types with its rows.
	if !strings.Contains(s, `"udpopt":{"cork":`) || strings.Contains(s, `"tcpopt"`) {
		t.Errorf("UDP's JSON: want udpopt and no tcpopt\n%s", s)
	}
	raw := jsonSampleImage(t, unix.SOCK_RAW, 255, 7)
	b, _ = json.Marshal(raw)
	if !strings.Contains(string(b), `"protocol":255,`) {
		t.Errorf("raw protocol is not a number: %s", b)
	}
	tcp := jsonSampleImage(t, unix.SOCK_STREAM, unix.IPPROTO_TCP, 10)
	b, _ = json.Marshal(tcp)
	if strings.Contains(string(b), "memberships") || strings.Contains(string(b), "pktinfo") || !strings.Contains(string(b), `"state":"LISTEN"`) {
		t.Errorf("TCP JSON: %s", b)
	}
	if !strings.Contains(string(b), `"tcpopt":{"nodelay":`) || strings.Contains(string(b), `"udpopt"`) {
		t.Errorf("TCP's JSON: want tcpopt and no udpopt\n%s", b)
	}
}

func TestJSONFlagsMayBeLeftOut(t *testing.T) {
	img := jsonSampleImage(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7)
	var m map[string]any
	b, _ := json.Marshal(img)
	json.Unmarshal(b, &m)
	delete(m["ipopt"].(map[string]any), "recverr")
	delete(m["sockopt"].(map[string]any), "reuseaddr")
	b, _ = json.Marshal(m)
	got, err := image.DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ipopt/recverr", "sockopt/reuseaddr"} {
		dir, file, _ := strings.Cut(name, "/")
		o, _ := image.LookupOption(dir, file)
		if v, ok := got.Values[o.Attr]; !ok || v.Num != 0 {
			t.Errorf("%s left out: got %+v, %v; want 0", name, v, ok)
		}
	}
}

func TestJSONRejects(t *testing.T) {
	base := func(t *testing.T, typ, proto uint16, state uint8) map[string]any {
		img := jsonSampleImage(t, typ, proto, state)
		b, err := json.Marshal(img)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	udp := func(t *testing.T) map[string]any { return base(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7) }
	tcp := func(t *testing.T) map[string]any { return base(t, unix.SOCK_STREAM, unix.IPPROTO_TCP, 10) }
	ipopt := func(m map[string]any) map[string]any { return m["ipopt"].(map[string]any) }
	sockopt := func(m map[string]any) map[string]any { return m["sockopt"].(map[string]any) }
	mship := func(m map[string]any, i int) map[string]any {
		return m["memberships"].([]any)[i].(map[string]any)
	}
	canonical := func(t *testing.T) string {
		b, _ := json.Marshal(jsonSampleImage(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7))
		return string(b)
	}

	tests := []struct {
		name   string
		base   func(*testing.T) map[string]any
		edit   func(map[string]any)
		raw    func(*testing.T) string // instead of base+edit
		prefix string                  // the error starts with this
	}{
		{name: "unknown key", base: udp, edit: func(m map[string]any) { m["colour"] = "red" }, prefix: "colour: unknown key"},
		{name: "key in other case", base: udp, edit: func(m map[string]any) { m["Version"] = m["version"]; delete(m, "version") }, prefix: "Version: unknown key"},
		{name: "missing version", base: udp, edit: func(m map[string]any) { delete(m, "version") }, prefix: "version: missing"},
		{name: "version 2", base: udp, edit: func(m map[string]any) { m["version"] = 2 }, prefix: "version:"},
		{name: "version as string", base: udp, edit: func(m map[string]any) { m["version"] = "1" }, prefix: "version:"},
		{name: "version 1.0", base: udp, edit: func(m map[string]any) { m["version"] = 1.5 }, prefix: "version:"},
		{name: "family unix", base: udp, edit: func(m map[string]any) { m["family"] = "AF_UNIX" }, prefix: "family: unknown name"},
		{name: "family number", base: udp, edit: func(m map[string]any) { m["family"] = 1 }, prefix: "family:"},
		{name: "family inet6, IPv4 addresses", base: udp, edit: func(m map[string]any) { m["family"] = "AF_INET6" }, prefix: `local: "10.0.0.1:5000" is not an IPv6`},
		{name: "missing type", base: udp, edit: func(m map[string]any) { delete(m, "type") }, prefix: "type: missing"},
		{name: "type unknown", base: udp, edit: func(m map[string]any) { m["type"] = "SOCK_SEQPACKET" }, prefix: "type: unknown name"},
		{name: "type number", base: udp, edit: func(m map[string]any) { m["type"] = 5 }, prefix: "type:"},
		{name: "protocol unknown name", base: udp, edit: func(m map[string]any) { m["protocol"] = "icmp" }, prefix: "protocol: unknown name"},
		{name: "protocol tcp on dgram", base: udp, edit: func(m map[string]any) { m["protocol"] = "tcp" }, prefix: "protocol:"},
		{name: "protocol too big", base: udp, edit: func(m map[string]any) { m["protocol"] = 256 }, prefix: "protocol:"},
		{name: "protocol negative", base: udp, edit: func(m map[string]any) { m["protocol"] = -1 }, prefix: "protocol:"},
		{name: "state unknown", base: udp, edit: func(m map[string]any) { m["state"] = "BOGUS" }, prefix: "state: unknown name"},
		{name: "state listen on udp", base: udp, edit: func(m map[string]any) { m["state"] = "LISTEN" }, prefix: "state:"},
		{name: "state out of range", base: tcp, edit: func(m map[string]any) { m["state"] = 13 }, prefix: "state:"},
		{name: "local without port", base: udp, edit: func(m map[string]any) { m["local"] = "10.0.0.1" }, prefix: "local:"},
		{name: "local ipv6", base: udp, edit: func(m map[string]any) { m["local"] = "[::1]:5000" }, prefix: "local:"},
		{name: "local number", base: udp, edit: func(m map[string]any) { m["local"] = 5 }, prefix: "local:"},
		{name: "peer without state", base: udp, edit: func(m map[string]any) { m["peer"] = "10.0.0.2:53" }, prefix: "peer:"},
		{name: "peer missing", base: udp, edit: func(m map[string]any) { delete(m, "peer") }, prefix: "peer: missing"},
		{name: "sockopt not an object", base: udp, edit: func(m map[string]any) { m["sockopt"] = "x" }, prefix: "sockopt: is not a JSON object"},
		{name: "sockopt missing", base: udp, edit: func(m map[string]any) { delete(m, "sockopt") }, prefix: "sockopt: missing"},
		{name: "unknown option", base: udp, edit: func(m map[string]any) { sockopt(m)["nosuch"] = "1" }, prefix: "sockopt.nosuch: unknown option"},
		{name: "ip option under sockopt", base: udp, edit: func(m map[string]any) { sockopt(m)["ttl"] = "64" }, prefix: "sockopt.ttl: unknown option"},
		{name: "option in upper case", base: udp, edit: func(m map[string]any) { ipopt(m)["TTL"] = "64" }, prefix: "ipopt.TTL: unknown option"},
		{name: "ttl out of range", base: udp, edit: func(m map[string]any) { ipopt(m)["ttl"] = "300" }, prefix: "ipopt.ttl:"},
		{name: "ttl zero", base: udp, edit: func(m map[string]any) { ipopt(m)["ttl"] = "0" }, prefix: "ipopt.ttl:"},
		{name: "ttl as a number", base: udp, edit: func(m map[string]any) { ipopt(m)["ttl"] = 64 }, prefix: "ipopt.ttl: 64 is not a string"},
		{name: "ttl null", base: udp, edit: func(m map[string]any) { ipopt(m)["ttl"] = nil }, prefix: "ipopt.ttl:"},
		{name: "ttl missing", base: udp, edit: func(m map[string]any) { delete(ipopt(m), "ttl") }, prefix: "ipopt.ttl: missing"},
		{name: "ttl negative", base: udp, edit: func(m map[string]any) { ipopt(m)["ttl"] = "-1" }, prefix: "ipopt.ttl:"},
		{name: "flag 2", base: udp, edit: func(m map[string]any) { ipopt(m)["recverr"] = "2" }, prefix: "ipopt.recverr:"},
		{name: "odd sndbuf", base: udp, edit: func(m map[string]any) { sockopt(m)["sndbuf"] = "3" }, prefix: "sockopt.sndbuf:"},
		{name: "linger one field", base: udp, edit: func(m map[string]any) { sockopt(m)["linger"] = "1" }, prefix: "sockopt.linger:"},
		{name: "bindtodevice too long", base: udp, edit: func(m map[string]any) { sockopt(m)["bindtodevice"] = "abcdefghijklmnopq" }, prefix: "sockopt.bindtodevice:"},
		{name: "options not hex", base: udp, edit: func(m map[string]any) { ipopt(m)["options"] = "zz" }, prefix: "ipopt.options:"},
		{name: "options not padded", base: udp, edit: func(m map[string]any) { ipopt(m)["options"] = "9404" }, prefix: "ipopt.options:"},
		{name: "multicast_if not an address", base: udp, edit: func(m map[string]any) { ipopt(m)["multicast_if"] = "1.2.3" }, prefix: "ipopt.multicast_if:"},
		{name: "two lines", base: udp, edit: func(m map[string]any) { ipopt(m)["ttl"] = "64\n65" }, prefix: "ipopt.ttl:"},
		{name: "datagram option on tcp", base: tcp, edit: func(m map[string]any) { ipopt(m)["pktinfo"] = "0" }, prefix: "ipopt.pktinfo: does not apply to SOCK_STREAM"},
		{name: "raw option on udp", base: udp, edit: func(m map[string]any) { ipopt(m)["hdrincl"] = "0" }, prefix: "ipopt.hdrincl: does not apply"},
		{name: "memberships on tcp", base: tcp, edit: func(m map[string]any) { m["memberships"] = []any{} }, prefix: "memberships: does not apply"},
		{name: "memberships missing", base: udp, edit: func(m map[string]any) { delete(m, "memberships") }, prefix: "memberships: missing"},
		{name: "memberships null", base: udp, edit: func(m map[string]any) { m["memberships"] = nil }, prefix: "memberships:"},
		{name: "memberships object", base: udp, edit: func(m map[string]any) { m["memberships"] = map[string]any{} }, prefix: "memberships: is not a list"},
		{name: "membership not an object", base: udp, edit: func(m map[string]any) { m["memberships"] = []any{"239.1.1.1"} }, prefix: "memberships[0]:"},
		{name: "group unicast", base: udp, edit: func(m map[string]any) { mship(m, 0)["group"] = "10.0.0.1" }, prefix: "memberships[0].group:"},
		{name: "group garbage", base: udp, edit: func(m map[string]any) { mship(m, 1)["group"] = "x" }, prefix: "memberships[1].group:"},
		{name: "group missing", base: udp, edit: func(m map[string]any) { delete(mship(m, 0), "group") }, prefix: "memberships[0].group: missing"},
		{name: "ifindex zero", base: udp, edit: func(m map[string]any) { mship(m, 0)["ifindex"] = 0 }, prefix: "memberships[0].ifindex:"},
		{name: "ifindex string", base: udp, edit: func(m map[string]any) { mship(m, 0)["ifindex"] = "2" }, prefix: "memberships[0].ifindex:"},
		{name: "ifindex fraction", base: udp, edit: func(m map[string]any) { mship(m, 0)["ifindex"] = 2.5 }, prefix: "memberships[0].ifindex:"},
		{name: "ifindex missing", base: udp, edit: func(m map[string]any) { delete(mship(m, 0), "ifindex") }, prefix: "memberships[0].ifindex: missing"},
		{name: "membership unknown key", base: udp, edit: func(m map[string]any) { mship(m, 2)["interface"] = "eth0" }, prefix: "memberships[2].interface: unknown key"},
		{name: "mode unknown", base: udp, edit: func(m map[string]any) { mship(m, 0)["mode"] = "both" }, prefix: "memberships[0].mode:"},
		{name: "include without sources", base: udp, edit: func(m map[string]any) { mship(m, 2)["mode"] = "include" }, prefix: "memberships[2].sources:"},
		{name: "source twice", base: udp, edit: func(m map[string]any) { mship(m, 0)["sources"] = []any{"10.1.1.1", "10.1.1.1"} }, prefix: "memberships[0].sources[1]:"},
		{name: "source multicast", base: udp, edit: func(m map[string]any) { mship(m, 0)["sources"] = []any{"239.0.0.1"} }, prefix: "memberships[0].sources[0]:"},
		{name: "sources null", base: udp, edit: func(m map[string]any) { mship(m, 0)["sources"] = nil }, prefix: "memberships[0].sources:"},
		{name: "membership twice", base: udp, edit: func(m map[string]any) {
			l := m["memberships"].([]any)
			m["memberships"] = append(l, l[0])
		}, prefix: "memberships[3]:"},
		{name: "too many memberships", base: udp, edit: func(m map[string]any) {
			var l []any
			for i := range image.MaxMemberships + 1 {
				l = append(l, map[string]any{"group": netip.AddrFrom4([4]byte{239, 0, byte(i >> 8), byte(i)}).String(), "ifindex": 1})
			}
			m["memberships"] = l
		}, prefix: "memberships:"},
		{name: "repeated key", raw: func(t *testing.T) string {
			return strings.Replace(canonical(t), `"version":1,`, `"version":1,"version":1,`, 1)
		}, prefix: "version: repeated key"},
		{name: "repeated option", raw: func(t *testing.T) string {
			return strings.Replace(canonical(t), `"ttl":"3",`, `"ttl":"3","ttl":"4",`, 1)
		}, prefix: "ipopt.ttl: repeated key"},
		{name: "trailing data", raw: func(t *testing.T) string { return canonical(t) + "{}" }, prefix: "json: trailing data"},
		{name: "truncated", raw: func(t *testing.T) string { c := canonical(t); return c[:len(c)/2] }, prefix: "json:"},
		{name: "a list", raw: func(*testing.T) string { return "[]" }, prefix: "image: is not a JSON object"},
		{name: "empty", raw: func(*testing.T) string { return "" }, prefix: "json: empty input"},
		{name: "null", raw: func(*testing.T) string { return "null" }, prefix: "image: is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []byte
			if tc.raw != nil {
				in = []byte(tc.raw(t))
			} else {
				m := tc.base(t)
				tc.edit(m)
				var err error
				if in, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			img, err := image.DecodeJSON(in)
			if err == nil {
				t.Fatalf("accepted %s\nas %+v", in, img)
			}
			if !strings.HasPrefix(err.Error(), tc.prefix) {
				t.Fatalf("error %q, want it to start with %q\ninput: %s", err, tc.prefix, in)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
			var ae *image.AttrError
			if !errors.As(err, &ae) || !errors.Is(err, syscall.EINVAL) {
				t.Errorf("error %T is not an *AttrError unwrapping to EINVAL", err)
			}
			// UnmarshalJSON refuses the same and leaves its target alone.
			target := *jsonSampleImage(t, unix.SOCK_RAW, 1, 7)
			before := target.Encode()
			if err := json.Unmarshal(in, &target); err == nil {
				t.Error("json.Unmarshal accepted it")
			}
			if !bytes.Equal(target.Encode(), before) {
				t.Error("a refused UnmarshalJSON changed its target")
			}
		})
	}
}

func TestJSONMarshalRefusesInvalid(t *testing.T) {
	img := jsonSampleImage(t, unix.SOCK_DGRAM, unix.IPPROTO_UDP, 7)
	o, _ := image.LookupOption("ipopt", "ttl")
	img.Values[o.Attr] = image.Value{Num: 0}
	_, err := json.Marshal(img)
	if err == nil || !strings.Contains(err.Error(), "ipopt.ttl") {
		t.Fatalf("marshal of an invalid image: %v, want an error naming ipopt.ttl", err)
	}
}

func TestJSONNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{image.StateName(10), "LISTEN"},
		{image.StateName(7), "CLOSE"},
		{image.StateName(0), "0"},
		{image.StateName(99), "99"},
		{image.ProtocolName(unix.IPPROTO_UDPLITE), "udplite"},
		{image.ProtocolName(255), "255"},
		{image.TypeName(unix.SOCK_RAW), "SOCK_RAW"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// revisionJSON is the "table_revision" field a current image's JSON has.
func revisionJSON() string {
	if image.TableRevision == 1 {
		return ""
	}
	return `"table_revision":` + strconv.Itoa(int(image.TableRevision)) + ","
}
