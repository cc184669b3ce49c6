package image_test

// Fuzz targets for the three readers of untrusted input: the image decoder
// (image.bin writes, `inetcr restore`, `inetcr decode`), the JSON form
// (`inetcr encode`) and the text parser of every option file. docs/fuzzing.md
// says how to run them and what they found.
//
// The seed corpus is testdata/fuzz/<Target>/: real dumps of sockets made by
// a python3 holder (written by `go test ./netlinkio/ -run
// TestGenFuzzCorpus -gencorpus`) and hand-made edge cases, plus, added at
// run time, the malformed images of malformed_test.go. A plain `go test`
// runs every seed once.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

var (
	fzGenCorpus = flag.Bool("gencorpus", false, "TestGenFuzzCorpus: write the seed corpus (real dumps and edge cases) to testdata/fuzz")
	fzIgnore    = flag.String("fuzzignore", "", "comma-separated classes of known failures to log instead of fail (padding, dropped, json-roundtrip, multiline, unclear); for fuzzing past a bug that is already reported")
)

// fzFail fails the input, unless its class is one -fuzzignore names.
func fzFail(t *testing.T, class, format string, args ...any) {
	t.Helper()
	if slices.Contains(strings.Split(*fzIgnore, ","), class) {
		t.Logf("ignored (%s): "+format, append([]any{class}, args...)...)
		return
	}
	t.Fatalf("%s: "+format, append([]any{class}, args...)...)
}

// fzCheckAttrError checks that a refusal is clear: an *AttrError with a
// non-empty Attr and Reason, on one line, unwrapping to EINVAL.
func fzCheckAttrError(t *testing.T, what string, err error) *image.AttrError {
	t.Helper()
	var ae *image.AttrError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error %T %q is not an *AttrError", what, err, err)
	}
	if ae.Attr == "" || ae.Reason == "" {
		fzFail(t, "unclear", "%s: error %q has an empty Attr (%q) or Reason (%q)", what, err, ae.Attr, ae.Reason)
	}
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("%s: error %q does not unwrap to EINVAL", what, err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		fzFail(t, "multiline", "%s: error is not one line: %q", what, err)
	}
	return ae
}

// fzRebuild re-encodes an attribute stream that Decode accepted: the same
// attributes in the same order, nested payloads rebuilt recursively and
// padding zeroed; with sorted, each list is in a fixed order instead, so two
// streams that differ only in the order of their attributes rebuild alike.
func fzRebuild(b []byte, sorted bool) []byte {
	var parts [][]byte
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:])
		if n < 4 || n > len(b) {
			return nil // Decode refuses this; the caller compares and fails
		}
		payload := b[4:n]
		if typ&0x8000 != 0 {
			payload = fzRebuild(payload, sorted)
		}
		a := binary.NativeEndian.AppendUint16(nil, uint16(4+len(payload)))
		a = binary.NativeEndian.AppendUint16(a, typ)
		a = append(a, payload...)
		for len(a)%4 != 0 {
			a = append(a, 0)
		}
		parts = append(parts, a)
		b = b[min(len(b), (n+3)&^3):]
	}
	if sorted {
		// By header and payload: an arbitrary order, but a fixed one,
		// which is all the comparison needs.
		sort.Slice(parts, func(i, j int) bool { return bytes.Compare(parts[i], parts[j]) < 0 })
	}
	return bytes.Join(parts, nil)
}

// FuzzDecode: no input makes Decode panic; every refusal is a clear
// *AttrError; an accepted input is the canonical encoding of its image up
// to the order of attributes (which a reader, like nla_parse, does not
// impose), re-encodes to a stream that decodes to the same bytes, and goes
// through the JSON form unchanged.
func FuzzDecode(f *testing.F) {
	for _, c := range malformedImages(f) {
		f.Add(c.image)
	}
	udp, tcp, raw := mfBases(f)
	f.Add(udp)
	f.Add(tcp)
	f.Add(raw)
	f.Add(v6Image().Encode())
	f.Add(joined6().Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		in := slices.Clone(b) // Decode's own copy, cleared below
		img, err := image.Decode(in)
		if !bytes.Equal(in, b) {
			t.Fatalf("Decode modified its input")
		}
		if err != nil {
			if img != nil {
				t.Fatalf("Decode returned an image with its error %q", err)
			}
			fzCheckAttrError(t, "Decode", err)
			return
		}
		if len(b) > image.MaxImageSize {
			t.Fatalf("accepted %d bytes, more than MaxImageSize (%d)", len(b), image.MaxImageSize)
		}
		if img == nil {
			t.Fatalf("Decode returned neither an image nor an error")
		}
		enc := img.Encode()
		// Canonical: what was accepted is what Encode writes, but for order.
		if r := fzRebuild(b, false); !bytes.Equal(r, b) {
			fzFail(t, "padding", "accepted a stream whose padding or lengths are not canonical:\n in  %x\n out %x", b, r)
		}
		if sin, sout := fzRebuild(b, true), fzRebuild(enc, true); !bytes.Equal(sin, sout) {
			fzFail(t, "dropped", "accepted an image that re-encodes to other attributes (not only another order):\n in  %x\n out %x\n (sorted: %x\n         %x)", b, enc, sin, sout)
		}
		// Stable: the re-encoding decodes and re-encodes byte-identically.
		img2, err := image.Decode(enc)
		if err != nil {
			t.Fatalf("Encode of an accepted image does not decode: %v\n in  %x\n out %x", err, b, enc)
		}
		if enc2 := img2.Encode(); !bytes.Equal(enc2, enc) {
			t.Fatalf("re-encoding is not stable:\n 1st %x\n 2nd %x", enc, enc2)
		}
		if err := img.Validate(); err != nil {
			t.Fatalf("Decode accepted an image that Validate refuses: %v", err)
		}
		// The image does not alias the input.
		clear(in)
		if !bytes.Equal(img.Encode(), enc) {
			t.Fatalf("the decoded image shares memory with its input")
		}
		// JSON: Image -> JSON -> Image -> Encode is the identity.
		j, err := json.Marshal(img)
		if err != nil {
			t.Fatalf("MarshalJSON refuses a decoded image: %v", err)
		}
		back, err := image.DecodeJSON(j)
		if err != nil {
			fzFail(t, "json-roundtrip", "DecodeJSON refuses the JSON of a decoded image: %v\n%s", err, j)
		} else if enc3 := back.Encode(); !bytes.Equal(enc3, enc) {
			fzFail(t, "json-roundtrip", "the JSON form loses something:\n%s\n before %x\n after  %x", j, enc, enc3)
		}
		// The size limit: the same image past MaxImageSize is refused.
		if len(b) > 0 {
			big := append(slices.Clone(b), make([]byte, image.MaxImageSize+1-len(b))...)
			if _, err := image.Decode(big); err == nil {
				t.Fatalf("accepted %d bytes", len(big))
			} else if ae := fzCheckAttrError(t, "Decode oversized", err); ae.Attr != "image" {
				t.Fatalf("oversized image refused for %q, want a refusal naming the image's size", err)
			}
		}
	})
}

// FuzzJSON: no input makes DecodeJSON or json.Unmarshal into an Image
// panic; the two agree; every refusal is a clear *AttrError; an accepted
// image marshals, and Marshal -> Unmarshal -> Encode is stable.
func FuzzJSON(f *testing.F) {
	udp, tcp, raw := mfBases(f)
	for _, b := range [][]byte{udp, tcp, raw, v6Image().Encode(), joined6().Encode()} {
		img, err := image.Decode(b)
		if err != nil {
			f.Fatal(err)
		}
		j, err := json.Marshal(img)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(j)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := image.DecodeJSON(data)
		var viaStd image.Image
		errStd := json.Unmarshal(data, &viaStd)
		if err != nil {
			if img != nil {
				t.Fatalf("DecodeJSON returned an image with its error %q", err)
			}
			fzCheckAttrError(t, "DecodeJSON", err)
			if errStd == nil {
				t.Fatalf("json.Unmarshal accepted what DecodeJSON refused (%v)", err)
			}
			if errStd.Error() == "" {
				t.Fatalf("json.Unmarshal refused with an empty error")
			}
			return
		}
		if errStd != nil {
			t.Fatalf("DecodeJSON accepted what json.Unmarshal refused: %v", errStd)
		}
		if err := img.Validate(); err != nil {
			t.Fatalf("DecodeJSON accepted an image that Validate refuses: %v", err)
		}
		enc := img.Encode()
		if e := viaStd.Encode(); !bytes.Equal(e, enc) {
			t.Fatalf("DecodeJSON and json.Unmarshal read different images:\n %x\n %x", enc, e)
		}
		j1, err := json.Marshal(img)
		if err != nil {
			t.Fatalf("MarshalJSON refuses an image DecodeJSON accepted: %v", err)
		}
		img2, err := image.DecodeJSON(j1)
		if err != nil {
			t.Fatalf("DecodeJSON refuses what MarshalJSON wrote: %v\n%s", err, j1)
		}
		if e := img2.Encode(); !bytes.Equal(e, enc) {
			t.Fatalf("Marshal -> Unmarshal changes the image:\n%s\n before %x\n after  %x", j1, enc, e)
		}
		if j2, err := json.Marshal(img2); err != nil || !bytes.Equal(j2, j1) {
			t.Fatalf("JSON -> Image -> JSON is not stable (%v):\n%s\n%s", err, j1, j2)
		}
		// The binary form agrees.
		dec, err := image.Decode(enc)
		if err != nil {
			t.Fatalf("Encode of a JSON image does not decode: %v\n%s", err, j1)
		}
		if e := dec.Encode(); !bytes.Equal(e, enc) {
			t.Fatalf("Encode -> Decode -> Encode changes a JSON image:\n %x\n %x", enc, e)
		}
		if j3, err := json.Marshal(dec); err != nil || !bytes.Equal(j3, j1) {
			t.Fatalf("the decoded binary form marshals differently (%v):\n%s\n%s", err, j1, j3)
		}
	})
}

// FuzzParseOption: no text makes any row's Parse panic; a refusal is a
// clear *AttrError naming the file; an accepted value passes Check, its
// Format parses back to the same value (with or without the newline echo
// adds), and its attribute payload unwires to the same value.
func FuzzParseOption(f *testing.F) {
	for i := range image.Options {
		o := &image.Options[i]
		for _, typ := range []uint16{unix.SOCK_DGRAM, unix.SOCK_STREAM, unix.SOCK_RAW} {
			if v, ok := mfValues(typ)[o.Attr]; ok {
				f.Add(uint8(i), o.Format(v))
				break
			}
		}
	}
	f.Fuzz(func(t *testing.T, row uint8, text string) {
		o := &image.Options[int(row)%len(image.Options)]
		v, err := o.Parse(text)
		if err != nil {
			ae := fzCheckAttrError(t, o.Path(), err)
			if ae.Attr != o.Path() {
				t.Fatalf("%s: error %q does not name the file", o.Path(), err)
			}
			return
		}
		if err := o.Check(v); err != nil {
			t.Fatalf("%s: Parse(%q) = %+v, which Check refuses: %v", o.Path(), text, v, err)
		}
		s := o.Format(v)
		if strings.ContainsAny(s, "\n") {
			t.Fatalf("%s: Format(%+v) = %q is not one line", o.Path(), v, s)
		}
		for _, in := range []string{s, s + "\n"} {
			v2, err := o.Parse(in)
			if err != nil {
				t.Fatalf("%s: Parse(%q) = %+v, but Parse of its Format %q fails: %v", o.Path(), text, v, in, err)
			}
			if !v2.Equal(v) {
				t.Fatalf("%s: Parse(%q) = %+v, Parse(Format) = %+v", o.Path(), text, v, v2)
			}
		}
		if v.Num2 != 0 && o.Kind == image.Micros {
			// Beyond MaxMicros the value takes the row's Ext attribute
			// too; FuzzDecode covers the pair through whole images.
			return
		}
		payload, present := o.Wire(v)
		if !present {
			if !v.Equal(image.Value{}) {
				t.Fatalf("%s: %+v has no attribute but is not the zero value", o.Path(), v)
			}
			return
		}
		v3, err := o.Unwire(payload)
		if err != nil {
			t.Fatalf("%s: Unwire(Wire(%+v)) = %v", o.Path(), v, err)
		}
		if !v3.Equal(v) {
			t.Fatalf("%s: Unwire(Wire(%+v)) = %+v", o.Path(), v, v3)
		}
	})
}

// ---- the seed corpus ----

// fzCorpusFile is a file in Go's corpus format.
func fzCorpusFile(vals ...any) []byte {
	b := []byte("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			b = fmt.Appendf(b, "[]byte(%q)\n", v)
		case string:
			b = fmt.Appendf(b, "string(%q)\n", v)
		case uint8:
			b = fmt.Appendf(b, "uint8(%d)\n", v)
		default:
			panic(fmt.Sprintf("fzCorpusFile: %T", v))
		}
	}
	return b
}

// fzWriter writes corpus files, replacing the ones an earlier run wrote
// (by their prefixes) and leaving crashers the fuzzer wrote alone.
type fzWriter struct {
	t       *testing.T
	written map[string]bool
}

func (w *fzWriter) write(target, name string, vals ...any) {
	w.t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if w.written[path] {
		w.t.Fatalf("corpus file %s written twice", path)
	}
	w.written[path] = true
	if err := os.WriteFile(path, fzCorpusFile(vals...), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// clean removes generated files (dump-*, edge-*, bug-*) that this run did
// not write.
func (w *fzWriter) clean() {
	for _, target := range []string{"FuzzDecode", "FuzzJSON", "FuzzParseOption"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		for _, p := range files {
			base := filepath.Base(p)
			if (strings.HasPrefix(base, "dump-") || strings.HasPrefix(base, "edge-") || strings.HasPrefix(base, "bug-")) && !w.written[p] {
				os.Remove(p)
			}
		}
	}
}

// fzTune sets options away from their defaults inside the holder.
func fzTune(s *netnstest.Sock, kind string) {
	ip, sol := unix.IPPROTO_IP, unix.SOL_SOCKET
	ne := binary.NativeEndian
	s.SetInt(ip, unix.IP_TTL, 42)
	s.SetInt(ip, unix.IP_TOS, 0x28)
	s.SetInt(ip, unix.IP_RECVTTL, 1)
	s.SetInt(ip, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
	s.SetInt(ip, unix.IP_FREEBIND, 1)
	s.SetInt(ip, unix.IP_MINTTL, 3)
	s.SetInt(ip, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	s.SetInt(sol, unix.SO_REUSEADDR, 1)
	s.SetInt(sol, unix.SO_REUSEPORT, 1)
	s.SetInt(sol, unix.SO_KEEPALIVE, 1)
	s.SetInt(sol, unix.SO_PRIORITY, 4)
	s.SetInt(sol, unix.SO_MARK, 0x1234)
	s.SetInt(sol, unix.SO_SNDBUF, 32768)
	s.SetInt(sol, unix.SO_RCVLOWAT, 16)
	s.SetBytes(sol, unix.SO_LINGER, ne.AppendUint32(ne.AppendUint32(nil, 1), 30))
	s.SetBytes(sol, unix.SO_RCVTIMEO, ne.AppendUint64(ne.AppendUint64(nil, 1), 250000))
	if kind != "tcp" {
		// Before SO_BINDTODEVICE, which it must agree with.
		s.SetBytes(ip, unix.IP_UNICAST_IF, binary.BigEndian.AppendUint32(nil, 1))
	}
	s.SetBytes(sol, unix.SO_BINDTODEVICE, []byte("lo"))
	s.SetBytes(ip, unix.IP_OPTIONS, []byte{0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}) // router alert, NOPs, EOL
	if kind != "tcp" {
		s.SetInt(ip, unix.IP_PKTINFO, 1)
		s.SetInt(ip, unix.IP_RECVTOS, 1)
		s.SetInt(ip, unix.IP_RECVERR, 1)
		s.SetInt(ip, unix.IP_RECVORIGDSTADDR, 1)
		s.SetInt(ip, unix.IP_MULTICAST_TTL, 17)
		s.SetInt(ip, unix.IP_MULTICAST_LOOP, 0)
		s.SetInt(ip, unix.IP_MULTICAST_ALL, 0)
		s.SetBytes(ip, unix.IP_MULTICAST_IF, []byte{127, 0, 0, 1})
	}
	if strings.HasPrefix(kind, "raw") {
		s.SetInt(ip, unix.IP_HDRINCL, 1)
		s.SetInt(ip, unix.IP_NODEFRAG, 1)
	}
}

// TestGenFuzzCorpus writes the seed corpus: real dumps of sockets made by
// the holder (their binary and JSON forms, and the text of every option
// value they hold), and hand-made edge cases. It runs only with -gencorpus:
//
//	go test ./netlinkio/ -run '^TestGenFuzzCorpus$' -gencorpus
func TestGenFuzzCorpus(t *testing.T) {
	if !*fzGenCorpus {
		t.Skip("writes testdata/fuzz; run with -gencorpus")
	}
	w := &fzWriter{t: t, written: map[string]bool{}}
	engine := stock.NewStock()
	h := netnstest.NewHolder(t)
	ifi := netnstest.Veth(t, "fz0", "10.77.0.1/24")

	type made struct {
		name string
		sock *netnstest.Sock
	}
	var socks []made
	add := func(name, kind string, setup func(s *netnstest.Sock)) {
		s := h.Socket(kind)
		if setup != nil {
			setup(s)
		}
		socks = append(socks, made{name, s})
	}
	bind := func(addr string, port int) func(*netnstest.Sock) {
		return func(s *netnstest.Sock) { s.Must("bind", map[string]any{"addr": addr, "port": port}) }
	}
	joins := func(s *netnstest.Sock) {
		s.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": ifi})
		s.Must("join", map[string]any{"group": "239.1.2.4", "ifindex": ifi})
		s.Must("join", map[string]any{"group": "239.1.2.3", "ifindex": 1})
		// INCLUDE {10.77.0.5, 10.77.0.7}
		s.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.77.0.1", "source": "10.77.0.7"})
		s.Must("join_source", map[string]any{"group": "232.1.1.1", "iface_addr": "10.77.0.1", "source": "10.77.0.5"})
		// EXCLUDE {10.77.0.9}: IP_BLOCK_SOURCE on an any-source membership.
		s.Must("join", map[string]any{"group": "239.5.5.5", "ifindex": ifi})
		s.SetBytes(unix.IPPROTO_IP, unix.IP_BLOCK_SOURCE, append(append(mfIP("239.5.5.5"), mfIP("10.77.0.1")...), mfIP("10.77.0.9")...))
	}

	add("udp-fresh", "udp", nil)
	add("udp-bound", "udp", bind("127.0.0.1", 0))
	add("udp-tuned", "udp", func(s *netnstest.Sock) { fzTune(s, "udp"); bind("0.0.0.0", 5353)(s) })
	add("udp-connected", "udp", func(s *netnstest.Sock) {
		bind("10.77.0.1", 4000)(s)
		s.Must("connect", map[string]any{"addr": "127.0.0.1", "port": 53})
	})
	add("udp-memberships", "udp", func(s *netnstest.Sock) { bind("0.0.0.0", 0)(s); joins(s) })
	add("udp-memberships-tuned", "udp", func(s *netnstest.Sock) { fzTune(s, "udp"); joins(s) })
	add("udplite-tuned", "udplite", func(s *netnstest.Sock) { fzTune(s, "udplite"); bind("127.0.0.1", 0)(s) })
	add("tcp-fresh", "tcp", nil)
	add("tcp-tuned-bound", "tcp", func(s *netnstest.Sock) { fzTune(s, "tcp"); bind("127.0.0.1", 0)(s) })
	var listenPort int
	add("tcp-listen", "tcp", func(s *netnstest.Sock) {
		var r struct {
			Local []any `json:"local"`
		}
		s.H.Must(map[string]any{"op": "bind", "fd": s.Fd, "addr": "127.0.0.1", "port": 0}, &r)
		listenPort = int(r.Local[1].(float64))
		s.Must("listen", map[string]any{"backlog": 8})
	})
	add("tcp-established", "tcp", func(s *netnstest.Sock) {
		fzTune(s, "tcp")
		s.Must("connect", map[string]any{"addr": "127.0.0.1", "port": listenPort})
	})
	add("raw17-fresh", "raw17", nil)
	add("raw1-tuned", "raw1", func(s *netnstest.Sock) { fzTune(s, "raw1") })
	add("raw255-connected", "raw255", func(s *netnstest.Sock) {
		bind("127.0.0.1", 0)(s)
		s.Must("connect", map[string]any{"addr": "127.0.0.2", "port": 0})
	})
	add("raw17-memberships", "raw17", joins)

	texts := map[int]map[string]bool{}
	for _, m := range socks {
		img, err := engine.Dump(m.sock.Inode)
		if err != nil {
			t.Fatalf("%s: dump: %v", m.name, err)
		}
		b := img.Encode()
		if _, err := image.Decode(b); err != nil {
			t.Fatalf("%s: the dump does not decode: %v", m.name, err)
		}
		j, err := json.Marshal(img)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		w.write("FuzzDecode", "dump-"+m.name, b)
		w.write("FuzzJSON", "dump-"+m.name, j)
		for i := range image.Options {
			o := &image.Options[i]
			if v, ok := img.Values[o.Attr]; ok {
				if texts[i] == nil {
					texts[i] = map[string]bool{}
				}
				texts[i][o.Format(v)] = true
			}
		}
		t.Logf("%s: %d bytes, %d memberships", m.name, len(b), len(img.Memberships))
	}
	// One indented JSON dump: whitespace between tokens.
	if img, err := engine.Dump(socks[4].sock.Inode); err == nil {
		j, _ := json.MarshalIndent(img, "", "\t")
		w.write("FuzzJSON", "dump-"+socks[4].name+"-indented", j)
	}
	for i, set := range texts {
		o := &image.Options[i]
		vals := slices.Sorted(func(yield func(string) bool) {
			for s := range set {
				if !yield(s) {
					return
				}
			}
		})
		for k, s := range vals {
			w.write("FuzzParseOption", fmt.Sprintf("dump-%s-%s-%d", o.Dir, o.Name, k), uint8(i), s+"\n")
		}
	}

	fzEdgeDecode(w)
	fzEdgeJSON(w)
	fzEdgeParse(w)
	fzBugs(w)
	w.clean()
	t.Logf("%d corpus files", len(w.written))
}

// fzImage is a small valid image to edit: a closed UDP socket with one
// membership and every option at a plain value.
func fzImage(typ uint16) *image.Image {
	img := &image.Image{
		Family: unix.AF_INET, Type: typ, State: 7,
		Local:  netip.MustParseAddrPort("0.0.0.0:0"),
		Peer:   netip.MustParseAddrPort("0.0.0.0:0"),
		Values: map[uint16]image.Value{},
	}
	switch typ {
	case unix.SOCK_DGRAM:
		img.Protocol = unix.IPPROTO_UDP
		img.Memberships = []image.Membership{{Group: netip.MustParseAddr("239.0.0.1"), Address: netip.IPv4Unspecified(), Ifindex: 1}}
	case unix.SOCK_STREAM:
		img.Protocol = unix.IPPROTO_TCP
	case unix.SOCK_RAW:
		img.Protocol = unix.IPPROTO_ICMP
		img.Memberships = []image.Membership{}
	}
	for _, o := range image.OptionsFor(unix.AF_INET, typ) {
		var v image.Value
		switch o.Kind {
		case image.U8, image.U32, image.Micros, image.IfIndexBE:
			v.Num = o.Min
		case image.BufSize:
			v.Num = 4608
		case image.InAddr:
			v.Bytes = []byte{0, 0, 0, 0}
		case image.Name:
			v.Bytes = []byte("reno")
		}
		img.Values[o.Attr] = v
	}
	return img
}

// fzSplit splits a stream into its attributes, padding included.
func fzSplit(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b))
		adv := min(len(b), (n+3)&^3)
		out = append(out, b[:adv])
		b = b[adv:]
	}
	return out
}

func fzEdgeDecode(w *fzWriter) {
	t := w.t
	ok := func(name string, b []byte) {
		t.Helper()
		if _, err := image.Decode(b); err != nil {
			t.Fatalf("edge case %s should decode: %v", name, err)
		}
		w.write("FuzzDecode", "edge-"+name, b)
	}
	bad := func(name string, b []byte) {
		t.Helper()
		if _, err := image.Decode(b); err == nil {
			t.Fatalf("edge case %s should be refused", name)
		}
		w.write("FuzzDecode", "edge-"+name, b)
	}
	udp := fzImage(unix.SOCK_DGRAM).Encode()
	tcp := fzImage(unix.SOCK_STREAM).Encode()
	raw := fzImage(unix.SOCK_RAW).Encode()
	ok("min-udp", udp)
	ok("min-tcp", tcp)
	ok("min-raw", raw)

	// Long lists, as far as MaxImageSize allows: the format's limit, not
	// the kernel's default sysctls (20 memberships, 10 sources).
	big := fzImage(unix.SOCK_DGRAM)
	big.Memberships = nil
	for i := range 2000 {
		m := image.Membership{Group: netip.AddrFrom4([4]byte{239, 1, byte(i >> 8), byte(i)}), Address: netip.IPv4Unspecified(), Ifindex: int32(i%3 + 1)}
		if i == 0 {
			for s := range 3000 {
				m.Sources = append(m.Sources, netip.AddrFrom4([4]byte{10, 0, byte((s + 1) >> 8), byte(s + 1)}))
			}
		}
		big.Memberships = append(big.Memberships, m)
	}
	ok("max-lists", big.Encode())
	over := big.Clone()
	for i := range 1000 {
		over.Memberships = append(over.Memberships, image.Membership{Group: netip.AddrFrom4([4]byte{239, 9, byte(i >> 8), byte(i)}), Address: netip.IPv4Unspecified(), Ifindex: 9})
	}
	bad("too-many-memberships", over.Encode())
	over = big.Clone()
	for s := range 2000 {
		over.Memberships[0].Sources = append(over.Memberships[0].Sources, netip.AddrFrom4([4]byte{10, 99, byte(s >> 8), byte(s)}))
	}
	bad("too-many-sources", over.Encode())

	// Attributes after VERSION in reverse order: accepted, re-encoded sorted.
	parts := fzSplit(udp)
	rev := slices.Clone(parts[1:])
	slices.Reverse(rev)
	ok("reversed", bytes.Join(append([][]byte{parts[0]}, rev...), nil))

	bad("empty", []byte{})
	bad("short-header", []byte{4, 0, 1})
	bad("version-only", parts[0])
	bad("version-2", mfPut(nil, 1, mfU32(2)))
	bad("version-not-first", bytes.Join(append(slices.Clone(parts[1:2]), parts[0]), nil))
	bad("len-zero", append(slices.Clone(udp), 0, 0, 0, 0))
	bad("len-past-end", append(slices.Clone(udp), 8, 0, 9, 0))
	bad("trailing-bytes", append(slices.Clone(udp), 0, 0))
	bad("inode", append(slices.Clone(tcp), mfPut(nil, 2, mfU64(12345))...))
	bad("unknown-attr", append(slices.Clone(tcp), mfPut(nil, 0x3fff, nil)...))
	bad("repeated-attr", append(slices.Clone(tcp), parts[1]...))
	bad("byteorder-flag", func() []byte {
		b := slices.Clone(tcp)
		b[4+2+1] |= 0x40 // FAMILY's type, high byte on little endian
		return b
	}())

	// Edits of the membership list of the UDP image.
	withList := func(list []byte) []byte {
		var out [][]byte
		for _, a := range fzSplit(udp) {
			if binary.NativeEndian.Uint16(a[2:])&0x3fff == image.AttrMembership {
				a = mfPut(nil, image.AttrMembership|0x8000, list)
			}
			out = append(out, a)
		}
		return bytes.Join(out, nil)
	}
	mreq := mfPut(nil, image.AttrMreq, mfMreqn("239.0.0.1", "0.0.0.0", 1))
	bad("mreq-truncated", withList(append(slices.Clone(mreq), 16, 0, 55, 0)))
	bad("mreq-twice", withList(append(slices.Clone(mreq), mreq...)))
	bad("mreq-unicast", withList(mfPut(nil, image.AttrMreq, mfMreqn("10.0.0.1", "0.0.0.0", 1))))
	bad("mreq-ifindex-0", withList(mfPut(nil, image.AttrMreq, mfMreqn("239.0.0.1", "0.0.0.0", 0))))
	ok("membership-empty", withList(nil))
	bad("membership-not-nested", func() []byte {
		var out [][]byte
		for _, a := range fzSplit(udp) {
			if binary.NativeEndian.Uint16(a[2:])&0x3fff == image.AttrMembership {
				a = mfPut(nil, image.AttrMembership, mreq)
			}
			out = append(out, a)
		}
		return bytes.Join(out, nil)
	}())
}

func fzEdgeJSON(w *fzWriter) {
	for name, s := range map[string]string{
		"empty":         ``,
		"null":          `null`,
		"object":        `{}`,
		"list":          `[]`,
		"string":        `"image"`,
		"deep":          strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		"trailing":      `{"version":1} {}`,
		"version-float": `{"version":1.0}`,
		"version-big":   `{"version":1e999}`,
		"dup-key":       `{"version":1,"version":1}`,
		"escaped-key":   `{"vers\u0069on":1,"family":"AF_INET","type":"SOCK_STREAM","protocol":"tcp","state":"LISTEN","local":"127.0.0.1:80","peer":"0.0.0.0:0","sockopt":{},"ipopt":{}}`,
		"numbers":       `{"version":1,"family":2,"type":1,"protocol":6,"state":10,"local":"127.0.0.1:80","peer":"0.0.0.0:0","sockopt":{"priority":"0","rcvlowat":"1","sndbuf":"4608","rcvbuf":"4608","rcvtimeo":"0","sndtimeo":"0","linger":"0 0","bindtodevice":"","mark":"0"},"ipopt":{"options":"","tos":"0","ttl":"64","mtu_discover":"1","minttl":"0"}}`,
		"udp-nulls":     `{"version":1,"family":"AF_INET","type":"SOCK_DGRAM","protocol":"udp","state":"CLOSE","local":"0.0.0.0:0","peer":"0.0.0.0:0","sockopt":null,"ipopt":null,"memberships":null}`,
		"membership-ipv6": `{"version":1,"family":"AF_INET","type":"SOCK_RAW","protocol":1,"state":"CLOSE","local":"0.0.0.0:0","peer":"0.0.0.0:0","sockopt":{},"ipopt":{},` +
			`"memberships":[{"group":"ff02::1","ifindex":1}]}`,
	} {
		w.write("FuzzJSON", "edge-"+name, []byte(s))
	}
}

func fzEdgeParse(w *fzWriter) {
	// Texts every kind must handle, then texts aimed at one kind.
	generic := []string{"", "\n", "\n\n", " \n", "1\n\n", "1\n2", "\x00", "\xff\xfe", " 1 \n", "\u00a01\u2028"}
	byKind := map[image.Kind][]string{
		image.Flag:         {"0", "1", "2", "0x1", "01", "+1", "-0", "1 "},
		image.U8:           {"255", "256", "0xff", "0x", "0x+1", "0X1F", "-1", "1_0"},
		image.U32:          {"4294967295", "4294967296", "18446744073709551615", "18446744073709551616", "0x10000000000000000"},
		image.BufSize:      {"4608", "4607", "2147483646", "2147483648", "0"},
		image.Micros:       {"9223372036854775807", "9223372036854775808", "0x7fffffffffffffff"},
		image.Linger:       {"1 30", "0 0", "1", "1 2 3", " 1\t2 ", "2 1", "1 2147483648", "0x1 0x10"},
		image.IfName:       {"lo", "eth0.100", "abcdefghijklmno", "abcdefghijklmnop", "a/b", "a b", "a\x00b", "\xff", "a\vb", " lo "},
		image.InAddr:       {"1.2.3.4", "0.0.0.0", "::ffff:1.2.3.4", "01.2.3.4", "1.2.3.4%eth0", "1.2.3", "255.255.255.255"},
		image.IfIndexBE:    {"1", "2147483647", "2147483648"},
		image.U64:          {"18446744073709551615", "18446744073709551616", "0xffffffffffffffff"},
		image.S32:          {"-1", "-0", "--1", "-2147483648", "-2147483649", "2147483647", "2147483648", "-0x1"},
		image.Name:         {"reno", "", "abcdefghijklmnop", "a b", "\xff"},
		image.Filter:       {"", "ebpf", "EBPF", "0600000000000000", "06000000000000", "0600000000000000ebpf"},
		image.Tstamp:       {"0", "1", "2", "3"},
		image.TstampNew:    {"0", "1", "2"},
		image.Timestamping: {"26", "0x8000 1", "26 1", "524288", "1 2 3"},
		image.TxTime:       {"1 0", "11 3", "2 0", "1 4", "1"},
		image.MSS:          {"88", "87", "65535", "65536"},
		image.RawOptions:   {"94040000", "9404000", "9404000g", "AbCd0000", strings.Repeat("00", 40), strings.Repeat("00", 44), "94 04 00 00"},
	}
	done := map[image.Kind]bool{}
	for i := range image.Options {
		o := &image.Options[i]
		if done[o.Kind] {
			continue
		}
		done[o.Kind] = true
		for k, s := range append(slices.Clone(generic), byKind[o.Kind]...) {
			w.write("FuzzParseOption", fmt.Sprintf("edge-%s-%s-%d", o.Dir, o.Name, k), uint8(i), s)
		}
	}
}

// fzBugs writes minimal reproducers of the bugs the fuzzers found (see
// docs/fuzzing.md). Each fails its target until the bug is fixed, and stays
// as a regression seed afterwards.
func fzBugs(w *fzWriter) {
	tcp := fzImage(unix.SOCK_STREAM).Encode()
	udp := fzImage(unix.SOCK_DGRAM).Encode()

	// Padding that is not zero is accepted and re-encoded as zero: STATE
	// (a u8) followed by 01 00 00 instead of 00 00 00.
	b := slices.Clone(tcp)
	off := 0
	for _, a := range fzSplit(tcp) {
		if binary.NativeEndian.Uint16(a[2:]) == image.AttrState {
			b[off+5] = 1
		}
		off += len(a)
	}
	w.write("FuzzDecode", "bug-padding-not-zero", b)

	// An empty IPOPT_SOURCE_FILTERS list is accepted and dropped on
	// re-encoding.
	w.write("FuzzDecode", "bug-empty-source-filters", append(slices.Clone(udp), mfPut(nil, image.AttrSourceFilters|0x8000, nil)...))

	// SOCKOPT_BINDTODEVICE values that the binary form accepts but the JSON
	// form cannot carry: a trailing \v (Parse trims it; the kernel's
	// dev_valid_name refuses every isspace byte) and a byte that is not
	// UTF-8 (encoding/json writes U+FFFD).
	o, _ := image.LookupOption("sockopt", "bindtodevice")
	for name, dev := range map[string]string{"vt": "a\v", "not-utf8": "\xff"} {
		img := fzImage(unix.SOCK_STREAM)
		img.Values[o.Attr] = image.Value{Bytes: []byte(dev)}
		w.write("FuzzDecode", "bug-json-bindtodevice-"+name, img.Encode())
	}

	// A JSON refusal that quotes the raw value it refuses, newlines and all.
	w.write("FuzzJSON", "bug-multiline-error", []byte("{\"version\":[\n]}"))
	// An unknown key is named as it was written: a newline in it makes
	// the error two lines, and the empty key an error with an empty Attr.
	w.write("FuzzJSON", "bug-multiline-key", []byte(`{"a\nb":0}`))
	w.write("FuzzJSON", "bug-empty-key", []byte(`{"":0}`))
}
