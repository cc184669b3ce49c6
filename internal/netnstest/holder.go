package netnstest

import (
	"bufio"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
)

//go:embed holder.py
var holderScript string

// Holder is a python3 process that makes and holds sockets for a test.
type Holder struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	mu  sync.Mutex
}

// Sock is a socket a Holder made.
type Sock struct {
	H     *Holder
	Fd    int
	Inode uint64
}

// NewHolder starts a holder process; it is killed when the test ends.
func NewHolder(t testing.TB) *Holder {
	t.Helper()
	Require(t, "python3")
	return NewHolderCmd(t, "python3")
}

// NewHolderCmd starts a holder with a command line that ends in a python3
// interpreter, such as a setpriv command that runs it as another user (so
// that the sockets it makes belong to that user).
func NewHolderCmd(t testing.TB, argv ...string) *Holder {
	t.Helper()
	cmd := exec.Command(argv[0], append(argv[1:], "-u", "-c", holderScript)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &Holder{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out)}
	h.out.Buffer(make([]byte, 1<<20), 64<<20)
	t.Cleanup(h.Stop)
	return h
}

// Pid is the holder's process id.
func (h *Holder) Pid() int { return h.cmd.Process.Pid }

// Stop ends the holder, closing every socket it holds.
func (h *Holder) Stop() {
	h.in.Close()
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// Call sends one request and decodes the answer into out (may be nil). It
// returns the holder's error, if the request failed there.
func (h *Holder) Call(req map[string]any, out any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, _ := json.Marshal(req)
	if _, err := h.in.Write(append(b, '\n')); err != nil {
		return err
	}
	if !h.out.Scan() {
		return fmt.Errorf("holder exited: %v", h.out.Err())
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	line := h.out.Bytes()
	if err := json.Unmarshal(line, &status); err != nil {
		return err
	}
	if !status.OK {
		return fmt.Errorf("holder: %s", status.Error)
	}
	if out != nil {
		return json.Unmarshal(line, out)
	}
	return nil
}

// Must is Call that fails the test on error.
func (h *Holder) Must(req map[string]any, out any) {
	h.t.Helper()
	if err := h.Call(req, out); err != nil {
		h.t.Fatalf("%v: %v", req, err)
	}
}

// Socket makes a socket: kind is "udp", "udplite", "tcp" or "raw<proto>"
// ("raw17", "raw255").
func (h *Holder) Socket(kind string) *Sock {
	h.t.Helper()
	var r struct {
		Fd    int    `json:"fd"`
		Inode uint64 `json:"inode"`
	}
	h.Must(map[string]any{"op": "socket", "type": kind}, &r)
	return &Sock{H: h, Fd: r.Fd, Inode: r.Inode}
}

// Many makes count UDP sockets, bound to addr with a kernel-chosen port
// when addr is not empty, and returns their inodes.
func (h *Holder) Many(count int, addr string) []uint64 {
	h.t.Helper()
	var r struct {
		Inodes []uint64 `json:"inodes"`
	}
	h.Must(map[string]any{"op": "many", "count": count, "bind": addr}, &r)
	return r.Inodes
}

// Do sends a request about this socket (its fd is filled in).
func (s *Sock) Do(op string, args map[string]any) error {
	req := map[string]any{"op": op, "fd": s.Fd}
	for k, v := range args {
		req[k] = v
	}
	return s.H.Call(req, nil)
}

// Must is Do that fails the test on error.
func (s *Sock) Must(op string, args map[string]any) {
	s.H.t.Helper()
	if err := s.Do(op, args); err != nil {
		s.H.t.Fatalf("%s %v on fd %d: %v", op, args, s.Fd, err)
	}
}

// SetInt sets an int option inside the holder.
func (s *Sock) SetInt(level, opt, v int) {
	s.H.t.Helper()
	s.Must("setsockopt", map[string]any{"level": level, "opt": opt, "value": v})
}

// SetBytes sets an option from raw bytes inside the holder.
func (s *Sock) SetBytes(level, opt int, b []byte) {
	s.H.t.Helper()
	s.Must("setsockopt", map[string]any{"level": level, "opt": opt, "value": hex.EncodeToString(b)})
}

// GetInt reads an int option inside the holder.
func (s *Sock) GetInt(level, opt int) int {
	s.H.t.Helper()
	var r struct {
		Value int `json:"value"`
	}
	s.H.Must(map[string]any{"op": "getsockopt", "fd": s.Fd, "level": level, "opt": opt}, &r)
	return r.Value
}

// GetBytes reads up to n bytes of an option inside the holder.
func (s *Sock) GetBytes(level, opt, n int) []byte {
	s.H.t.Helper()
	var r struct {
		Hex string `json:"hex"`
	}
	s.H.Must(map[string]any{"op": "getsockopt", "fd": s.Fd, "level": level, "opt": opt, "len": n}, &r)
	b, err := hex.DecodeString(r.Hex)
	if err != nil {
		s.H.t.Fatal(err)
	}
	return b
}

// Close closes the socket inside the holder.
func (s *Sock) Close() {
	s.H.t.Helper()
	s.Must("close", nil)
}

// Flip starts a thread in the holder that sets an int option to each of
// values in turn, in a tight loop, reading it back after each set. The
// returned stop ends it and says how many sets it made and how many read-
// backs gave a value it had not just set (a lost update by someone else).
func (s *Sock) Flip(level, opt int, values ...int) (stop func() (iterations, foreign int)) {
	s.H.t.Helper()
	s.Must("flip_start", map[string]any{"level": level, "opt": opt, "values": values})
	return func() (int, int) {
		var r struct {
			Iterations int `json:"iterations"`
			Foreign    int `json:"foreign"`
		}
		s.H.Must(map[string]any{"op": "flip_stop", "fd": s.Fd}, &r)
		return r.Iterations, r.Foreign
	}
}

// AttachFilter attaches a classic BPF filter (struct sock_filter
// instructions, 8 bytes each) inside the holder.
func (s *Sock) AttachFilter(insns []byte) error {
	return s.Do("attach_filter", map[string]any{"insns": hex.EncodeToString(insns)})
}

// GetFilter reads the socket's classic BPF filter inside the holder
// (SO_GET_FILTER); empty when none is attached.
func (s *Sock) GetFilter() []byte {
	s.H.t.Helper()
	var r struct {
		Hex string `json:"hex"`
	}
	s.H.Must(map[string]any{"op": "get_filter", "fd": s.Fd}, &r)
	b, err := hex.DecodeString(r.Hex)
	if err != nil {
		s.H.t.Fatal(err)
	}
	return b
}

// RecvCmsg receives one datagram inside the holder (waiting at most 5 s)
// and returns the level and type of each control message that came with
// it.
func (s *Sock) RecvCmsg() ([][2]int, error) {
	var r struct {
		Cmsgs [][2]int `json:"cmsgs"`
	}
	err := s.H.Call(map[string]any{"op": "recv_cmsg", "fd": s.Fd}, &r)
	return r.Cmsgs, err
}
