package image_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/inetcr/inetcr/netlinkio/image"
)

// parseRowRange is the range of a row's integer text: flags are 0 or 1.
func parseRowRange(o *image.Option) (lo, hi uint64) {
	if o.Kind == image.Flag || o.Kind == image.BufLock || o.Kind == image.TstampNew {
		return 0, 1
	}
	return o.Min, o.Max
}

type parseGoodCase struct {
	text string
	want image.Value
}

// parseGoodInputs lists texts a row accepts and the values they mean.
func parseGoodInputs(o *image.Option) []parseGoodCase {
	n := func(v uint64) image.Value { return image.Value{Num: v} }
	b := func(s ...byte) image.Value { return image.Value{Bytes: s} }
	switch o.Kind {
	case image.AddrPrefs:
		return []parseGoodCase{{"1280", n(0x500)}, {"0x401\n", n(0x401)}, {"1026", n(0x402)}, {"0x104", n(0x104)}}
	case image.Linger:
		return []parseGoodCase{
			{"0 0", image.Value{}},
			{"1 30", image.Value{Num: 1, Num2: 30}},
			{"1 30\n", image.Value{Num: 1, Num2: 30}},
			{"0x1 0x1e", image.Value{Num: 1, Num2: 30}},
			{"1  30", image.Value{Num: 1, Num2: 30}},
			{"1 " + strconv.FormatUint(o.Max, 10), image.Value{Num: 1, Num2: o.Max}},
		}
	case image.IfName:
		return []parseGoodCase{
			{"", b()},
			{"\n", b()},
			{"lo", b('l', 'o')},
			{"eth0\n", b([]byte("eth0")...)},
			{"veth-a.1@x", b([]byte("veth-a.1@x")...)},
			{"abcdefghijklmno", b([]byte("abcdefghijklmno")...)},
		}
	case image.InAddr:
		return []parseGoodCase{
			{"0.0.0.0", b(0, 0, 0, 0)},
			{"192.0.2.1", b(192, 0, 2, 1)},
			{"255.255.255.255\n", b(255, 255, 255, 255)},
			{"239.1.2.3", b(239, 1, 2, 3)},
		}
	case image.S32:
		return []parseGoodCase{
			{strconv.FormatInt(o.SMin, 10), n(uint64(uint32(int32(o.SMin))))},
			{"-1", n(1<<32 - 1)},
			{"-0x1\n", n(1<<32 - 1)},
			{strconv.FormatUint(o.Max, 10), n(o.Max)},
			{"0", n(0)},
		}
	case image.Name:
		return []parseGoodCase{{"reno", b([]byte("reno")...)}, {"bbr\n", b([]byte("bbr")...)}, {"abcdefghijklmno", b([]byte("abcdefghijklmno")...)}}
	case image.Filter:
		return []parseGoodCase{
			{"", b()},
			{"0600000000000100\n", b(6, 0, 0, 0, 0, 0, 1, 0)},
			{"ebpf", image.Value{Num: 1}},
			{strings.Repeat("06000000ffffffff", image.MaxFilterLen), b(bytes.Repeat([]byte{6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, image.MaxFilterLen)...)},
		}
	case image.Timestamping:
		return []parseGoodCase{
			{"0", image.Value{}},
			{"26\n", n(26)},
			{"0x8000 3", image.Value{Num: 0x8000, Num2: 3}},
			{"524287", n(524287)},
		}
	case image.TxTime:
		return []parseGoodCase{{"0 0", image.Value{}}, {"1 2", image.Value{Num: 1, Num2: 2}}, {"11 3\n", image.Value{Num: 11, Num2: 3}}}
	case image.RawOptions:
		return []parseGoodCase{
			{"", b()},
			{"\n", b()},
			{"94040000", b(0x94, 0x04, 0, 0)},
			{"94040000\n", b(0x94, 0x04, 0, 0)},
			{"9404000A", b(0x94, 0x04, 0, 0x0a)},
			{strings.Repeat("01", 40), b([]byte(strings.Repeat("\x01", 40))...)},
		}
	}
	lo, hi := parseRowRange(o)
	good := []parseGoodCase{
		{strconv.FormatUint(lo, 10), n(lo)},
		{strconv.FormatUint(hi, 10), n(hi)},
		{strconv.FormatUint(hi, 10) + "\n", n(hi)},
		{fmt.Sprintf("0x%x", hi), n(hi)},
		{fmt.Sprintf("0X%X\n", hi), n(hi)},
		{fmt.Sprintf("0x%x", lo), n(lo)},
		{" " + strconv.FormatUint(lo, 10) + " \n", n(lo)},
	}
	if o.Kind == image.BufSize {
		good = append(good, parseGoodCase{"212992", n(212992)}, parseGoodCase{"0x34000", n(0x34000)})
	}
	if lo == 0 && hi >= 10 {
		good = append(good, parseGoodCase{"010", n(10)}) // decimal, not octal
	}
	return good
}

// parseBadInputs lists texts a row refuses.
func parseBadInputs(o *image.Option) []string {
	bad := []string{"1\n2", "1\n2\n", "1\n\n", "\n\n"}
	switch o.Kind {
	case image.Linger:
		return append(bad, "", "1", "1 2 3", "2 30", "1 -1", "-1 1", "a b", "1,30",
			"1 "+strconv.FormatUint(o.Max+1, 10), "1 0x", "1 1.5")
	case image.IfName:
		return append(bad, "abcdefghijklmnop", "a/b", "a b", "a\tb", "lo\x00")
	case image.AddrPrefs:
		return append(bad, "", "0", "3", "256", "1024", "1281", "0x501", "0x908", "-1", "abc")
	case image.InAddr:
		return append(bad, "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::1", "::ffff:1.2.3.4", "01.2.3.4",
			"abc", "1.2.3.4 5", "-1", "0x01020304", "16909060")
	case image.S32:
		return append(bad, "", "abc", "--1", "+1", strconv.FormatInt(o.SMin-1, 10), strconv.FormatUint(o.Max+1, 10), "4294967295", "-2147483649")
	case image.Name:
		return append(bad, "", "a b", "a/b", "abcdefghijklmnop")
	case image.Filter:
		return append(bad, "06", "0600000000000100ff", "zz", "EBPF ", strings.Repeat("06000000ffffffff", image.MaxFilterLen+1))
	case image.Timestamping:
		return append(bad, "", "-1", "524288", "26 1", "0x8000 -1", "0x8000 2147483648", "1 2 3", "a")
	case image.TxTime:
		return append(bad, "", "1", "2 0", "1 4", "-1 0", "1 2 3", "12 0")
	case image.RawOptions:
		return append(bad, "940", "zz000000", "940400", "94 04 00 00", "0x94040000",
			strings.Repeat("00", 41), strings.Repeat("00", 44))
	}
	lo, hi := parseRowRange(o)
	bad = append(bad, "", " ", "-1", "abc", "1 2", "0x", "0xg", "0x+1", "+1", "1.5", "1e3", "1_000", "١")
	if o.Kind == image.Micros {
		// A timeout past u64 microseconds is a timeval's: up to
		// MaxTimeoutSec seconds and 999999 µs (TestParseMicrosBeyondU64).
		return append(bad, strconv.FormatUint(image.MaxTimeoutSec+1, 10)+"000000", "0x"+strings.Repeat("f", 40))
	}
	bad = append(bad, "18446744073709551616", "0x10000000000000000")
	if hi < 1<<64-1 {
		bad = append(bad, strconv.FormatUint(hi+1, 10), fmt.Sprintf("0x%x", hi+1))
	}
	if lo > 0 {
		bad = append(bad, strconv.FormatUint(lo-1, 10))
	}
	switch {
	case o.Kind == image.Flag || o.Kind == image.BufLock:
		bad = append(bad, "2", "on", "true")
	case o.Kind == image.U8 && hi == 255:
		bad = append(bad, "256")
	case o.Kind == image.BufSize:
		bad = append(bad, "212993", "3")
	}
	return bad
}

func TestParseGood(t *testing.T) {
	for i := range image.Options {
		o := &image.Options[i]
		t.Run(o.Path(), func(t *testing.T) {
			for _, g := range parseGoodInputs(o) {
				got, err := o.Parse(g.text)
				if err != nil {
					t.Errorf("Parse(%q): %v", g.text, err)
					continue
				}
				if !got.Equal(g.want) {
					t.Errorf("Parse(%q) = %+v, want %+v", g.text, got, g.want)
				}
				if err := o.Check(got); err != nil {
					t.Errorf("Parse(%q) gave a value Check refuses: %v", g.text, err)
				}
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	for i := range image.Options {
		o := &image.Options[i]
		t.Run(o.Path(), func(t *testing.T) {
			for _, text := range parseBadInputs(o) {
				v, err := o.Parse(text)
				if err == nil {
					t.Errorf("Parse(%q) accepted: %+v", text, v)
					continue
				}
				var ae *image.AttrError
				if !errors.As(err, &ae) {
					t.Errorf("Parse(%q): %T %v is not an *AttrError", text, err, err)
					continue
				}
				if ae.Attr != o.Path() || !strings.Contains(err.Error(), o.Path()) {
					t.Errorf("Parse(%q): error %q does not name %s", text, err, o.Path())
				}
				if !errors.Is(err, syscall.EINVAL) {
					t.Errorf("Parse(%q): %v is not EINVAL", text, err)
				}
				if ae.Reason == "" || strings.Contains(err.Error(), "%!") {
					t.Errorf("Parse(%q): unclear message %q", text, err)
				}
			}
		})
	}
}

// TestParseFormatRoundTrip: what Format writes, Parse reads back, with or
// without the newline the tree adds; Format writes one line.
func TestParseFormatRoundTrip(t *testing.T) {
	for i := range image.Options {
		o := &image.Options[i]
		for _, vs := range codecValueSets {
			v := vs.pick(o)
			text := o.Format(v)
			if strings.ContainsAny(text, "\n") {
				t.Errorf("%s: Format(%+v) = %q holds a newline", o.Path(), v, text)
			}
			for _, in := range []string{text, text + "\n"} {
				got, err := o.Parse(in)
				if err != nil {
					t.Errorf("%s %s: Parse(Format(%+v) = %q): %v", o.Path(), vs.name, v, in, err)
					continue
				}
				if !got.Equal(v) {
					t.Errorf("%s %s: Parse(%q) = %+v, want %+v", o.Path(), vs.name, in, got, v)
				}
			}
		}
	}
}

// TestParseFormatText pins the text of each kind as the tree shows it.
func TestParseFormatText(t *testing.T) {
	for _, c := range []struct {
		path string
		v    image.Value
		want string
	}{
		{"sockopt/reuseaddr", image.Value{Num: 1}, "1"},
		{"sockopt/reuseaddr", image.Value{}, "0"},
		{"sockopt/sndbuf_ulock", image.Value{Num: 1}, "1"},
		{"ipopt/ttl", image.Value{Num: 64}, "64"},
		{"sockopt/mark", image.Value{Num: 0xffffffff}, "4294967295"},
		{"sockopt/sndbuf", image.Value{Num: 212992}, "212992"},
		{"sockopt/rcvtimeo", image.Value{Num: 1500000}, "1500000"},
		{"sockopt/linger", image.Value{Num: 1, Num2: 30}, "1 30"},
		{"sockopt/linger", image.Value{}, "0 0"},
		{"sockopt/bindtodevice", image.Value{Bytes: []byte("eth0")}, "eth0"},
		{"sockopt/bindtodevice", image.Value{}, ""},
		{"ipopt/multicast_if", image.Value{Bytes: []byte{192, 0, 2, 1}}, "192.0.2.1"},
		{"ipopt/multicast_if", image.Value{Bytes: []byte{0, 0, 0, 0}}, "0.0.0.0"},
		{"ipopt/unicast_if", image.Value{Num: 3}, "3"},
		{"ipopt/options", image.Value{Bytes: []byte{0x94, 0x04, 0x00, 0xAB}}, "940400ab"},
		{"ipopt/options", image.Value{}, ""},
	} {
		dir, name, _ := strings.Cut(c.path, "/")
		o, ok := image.LookupOption(dir, name)
		if !ok {
			t.Errorf("no row %s", c.path)
			continue
		}
		if got := o.Format(c.v); got != c.want {
			t.Errorf("%s: Format(%+v) = %q, want %q", c.path, c.v, got, c.want)
		}
	}
}

// TestParseRowNames pins the tree's file names: lower case, no prefix, the
// directory by level.
func TestParseRowNames(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range image.Options {
		if seen[o.Path()] {
			t.Errorf("%s listed twice", o.Path())
		}
		seen[o.Path()] = true
		if o.Name != strings.ToLower(o.Name) || strings.HasPrefix(o.Name, "ip_") || strings.HasPrefix(o.Name, "so_") || strings.ContainsAny(o.Name, "/ ") {
			t.Errorf("file name %q", o.Name)
		}
		byLevel := map[int]string{unix.SOL_SOCKET: "sockopt", unix.IPPROTO_IP: "ipopt", unix.IPPROTO_IPV6: "ip6opt", unix.SOL_UDP: "udpopt", unix.SOL_TCP: "tcpopt"}
		if byLevel[o.Level] != o.Dir || !strings.HasPrefix(o.AttrName(), strings.ToUpper(strings.TrimSuffix(o.Dir, "opt"))+"OPT_") {
			t.Errorf("%s: directory %q, attribute %s", o.Path(), o.Dir, o.AttrName())
		}
		if got, ok := image.LookupOption(o.Dir, o.Name); !ok || got.Attr != o.Attr {
			t.Errorf("LookupOption(%q, %q) = %v, %v", o.Dir, o.Name, got, ok)
		}
	}
	// The seed's datagram-only options are absent on TCP; hdrincl and
	// router_alert are RAW's alone.
	for _, name := range []string{"pktinfo", "recvtos", "recvopts", "retopts", "hdrincl", "recverr", "multicast_ttl", "multicast_if"} {
		if o, ok := image.LookupOption("ipopt", name); !ok || o.Types&image.Stream != 0 {
			t.Errorf("ipopt/%s: missing or applies to TCP", name)
		}
	}
	for _, name := range []string{"hdrincl", "router_alert"} {
		if o, ok := image.LookupOption("ipopt", name); !ok || o.Types != image.Raw {
			t.Errorf("ipopt/%s: missing or not RAW only", name)
		}
	}
}

// A timeout the kernel holds may be far more microseconds than a u64
// holds: its text is the whole number, and its value whole seconds and
// microseconds (MicrosValue), which Format writes back as the same text.
func TestParseMicrosBeyondU64(t *testing.T) {
	o, _ := image.LookupOption("sockopt", "rcvtimeo")
	for _, c := range []struct {
		text string
		want image.Value
	}{
		{"9223372036854775807", image.Value{Num: 1<<63 - 1}},
		{"9223372036854775808", image.Value{Num: 775808, Num2: 9223372036854}},
		{"0x8000000000000000", image.Value{Num: 775808, Num2: 9223372036854}},
		{"18446744073709551616", image.Value{Num: 551616, Num2: 18446744073709}},
		{"4611686018427388000000", image.Value{Num: 0, Num2: 4611686018427388}},
		{"36893488147419101999999", image.Value{Num: 999999, Num2: 36893488147419101}},
		{"9223372036854775807999999", image.Value{Num: 999999, Num2: 1<<63 - 1}},
	} {
		v, err := o.Parse(c.text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.text, err)
		}
		if !v.Equal(c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.text, v, c.want)
		}
		if got := o.Format(v); !strings.HasPrefix(c.text, "0x") && got != c.text {
			t.Errorf("Format(Parse(%q)) = %q", c.text, got)
		}
	}
}

// An image with a timeout beyond MaxMicros carries SOCKOPT_RCVTIMEO_SEC
// (27) in its place by id, decodes to the same value and re-encodes to the
// same bytes; the pair is refused when it is not canonical.
func TestMicrosBeyondU64RoundTrips(t *testing.T) {
	img := codecShapes()[0]
	img.Values = codecValueSets[1].values(img.Type)
	img.Values[22] = image.Value{Num: 999999, Num2: 36893488147419101}
	img.Values[23] = image.Value{Num: 0, Num2: 9223372036855}
	b := img.Encode()
	got, err := image.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Values[22].Equal(img.Values[22]) || !got.Values[23].Equal(img.Values[23]) {
		t.Fatalf("decoded %+v %+v", got.Values[22], got.Values[23])
	}
	if !bytes.Equal(got.Encode(), b) {
		t.Fatal("re-encoding differs")
	}
	attrs, _ := image.ParseAttrs(b, "image")
	var ids []uint16
	for _, a := range attrs {
		ids = append(ids, a.Type)
	}
	if !slices.IsSorted(ids[1:]) || !slices.Contains(ids, 27) || !slices.Contains(ids, 28) {
		t.Fatalf("attribute ids %v", ids)
	}
	for _, bad := range []image.Value{{Num: 5, Num2: 1}, {Num: 1e6, Num2: 1 << 40}, {Num: 775807, Num2: 9223372036854}} {
		c := img.Clone()
		c.Values[22] = bad
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
		if _, err := image.Decode(c.Encode()); err == nil {
			t.Errorf("%+v decoded", bad)
		}
	}
}
