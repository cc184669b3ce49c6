package exact

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/iotest"
	"unsafe"
)

// raw is the bytes of a record struct, as the program writes them.
func raw[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// sampleStream is two sockets as the program writes them: the first with
// a filter, a TCP record, a membership with two sources, an IPv6 one with
// none, and a partial mark; the second bare.
func sampleStream() []byte {
	var b []byte
	s1 := iterSockRec{Tag: tagSock, Inode: 11, Fd: 3, Family: 10, Type: 1, Protocol: 6}
	f := iterFilterRec{Tag: tagFilter, Len: 2}
	tcp := iterTcpRec{Tag: tagTCP}
	mc := iterMcRec{Tag: tagMc, Multiaddr: 0x010203e0, Ifindex: 4, Sfmode: 1, Nsrc: 2}
	mc6 := iterMc6Rec{Tag: tagMc6, Ifindex: 5, Group: [16]byte{0xff, 0x15, 15: 0xc}}
	s2 := iterSockRec{Tag: tagSock, Inode: 22, Fd: 4, Family: 2, Type: 2, Protocol: 17}
	b = append(b, raw(&s1)...)
	b = append(b, raw(&f)...)
	b = append(b, bytes.Repeat([]byte{7}, 16)...)
	b = append(b, raw(&tcp)...)
	b = append(b, raw(&mc)...)
	b = append(b, 10, 0, 0, 1, 10, 0, 0, 2)
	b = append(b, raw(&mc6)...)
	b = append(b, tagPartial, 0, 0, 0)
	return append(b, raw(&s2)...)
}

// TestParseStreamAsItComes: the records read from the stream a few bytes
// at a time, as a pass is read, are the records of the stream read whole.
func TestParseStreamAsItComes(t *testing.T) {
	b := sampleStream()
	whole, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != 2 || whole[0].Inode != 11 || len(whole[0].mc) != 2 || len(whole[0].mc[0].sources) != 2 ||
		len(whole[0].filter) != 16 || whole[0].tcp == nil || !whole[0].partial || whole[1].Inode != 22 || whole[1].tcp != nil {
		t.Fatalf("parsed %+v", whole)
	}
	got, err := parseStream(&stream{rd: iotest.OneByteReader(bytes.NewReader(b))}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, whole) {
		t.Fatalf("byte by byte: %+v\nwhole: %+v", got, whole)
	}
}

// TestParseRefusesCutStreams: a stream cut anywhere inside a record, or a
// record with no socket before it, is errStream, not fewer records.
func TestParseRefusesCutStreams(t *testing.T) {
	b := sampleStream()
	sock := int(unsafe.Sizeof(iterSockRec{}))
	for _, cut := range []int{2, sock - 1, sock + 3, len(b) - 1} {
		if _, err := parseStream(&stream{rd: iotest.HalfReader(bytes.NewReader(b[:cut]))}, 0); !errors.Is(err, errStream) {
			t.Errorf("cut at %d of %d: %v, want errStream", cut, len(b), err)
		}
	}
	if _, err := parse(b[sock:]); !errors.Is(err, errStream) {
		t.Errorf("a filter first: %v, want errStream", err)
	}
}
