package exact_test

import (
	"errors"
	"fmt"
	"github.com/inetcr/inetcr/netlinkio/image"
	"golang.org/x/sys/unix"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/exact"
)

// refused checks that Open fails with a *CannotRun naming why.
func refused(t *testing.T, cfg exact.Config, why string) {
	t.Helper()
	e, err := exact.Open(cfg)
	if err == nil {
		e.Close()
		t.Fatalf("Open succeeded; want it refused because %s", why)
	}
	var cr *exact.CannotRun
	if !errors.As(err, &cr) || !strings.Contains(err.Error(), why) {
		t.Fatalf("Open: %v; want a CannotRun saying %q", err, why)
	}
}

// Each case where the reader cannot run, forced.
func TestCannotRun(t *testing.T) {
	dir := t.TempDir()
	lockdown := filepath.Join(dir, "lockdown")
	if err := os.WriteFile(lockdown, []byte("none integrity [confidentiality]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("no BTF", func(t *testing.T) {
		refused(t, exact.Config{BTFPath: filepath.Join(dir, "vmlinux")}, "no BTF at")
	})
	t.Run("lockdown", func(t *testing.T) {
		refused(t, exact.Config{LockdownPath: lockdown}, "locked down")
	})
	t.Run("verifier refuses", func(t *testing.T) {
		// r0 = r5 before r5 is set: the verifier refuses to read it.
		bad := func(p *ebpf.ProgramSpec) {
			p.Instructions = asm.Instructions{asm.Mov.Reg(asm.R0, asm.R5), asm.Return()}
		}
		refused(t, exact.Config{Program: bad}, "the verifier refuses the program")
	})
	t.Run("struct lacks a field", func(t *testing.T) {
		drop := func(k *btf.Spec) error {
			var s *btf.Struct
			if err := k.TypeByName("inet_sock", &s); err != nil {
				return err
			}
			for i, m := range s.Members {
				if m.Name == "mc_list" {
					s.Members = append(s.Members[:i:i], s.Members[i+1:]...)
					return nil
				}
			}
			return errors.New("inet_sock has no mc_list to take out")
		}
		refused(t, exact.Config{Types: drop}, "lacks a field the program reads")
	})
}

// probeEnv makes the test binary, run again, print why Open fails and
// exit (TestMain).
const probeEnv = "INETCR_EXACT_PROBE"

// As a user without capabilities the reader cannot run, and says so,
// naming kernel.unprivileged_bpf_disabled when it is set.
func TestCannotRunWithoutCapabilities(t *testing.T) {
	netnstest.Require(t, "setpriv")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), probeEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "uid 65534 lacks CAP_BPF and CAP_PERFMON") {
		t.Errorf("as nobody: %s", out)
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled"); strings.TrimSpace(string(b)) != "0" && !strings.Contains(string(out), "unprivileged_bpf_disabled") {
		t.Errorf("the sysctl is set, but the reason does not name it: %s", out)
	}
}

// dumpEnv makes the test binary, run again, dump the socket it names and
// print its TTL, or the error, and exit (TestMain).
const dumpEnv = "INETCR_EXACT_DUMP"

func dumpAndExit(inode string) {
	ino, _ := strconv.ParseUint(inode, 10, 64)
	e, err := exact.Open(exact.Config{})
	if err == nil {
		var img *image.Image
		if img, err = e.Dump(ino); err == nil {
			fmt.Println("ttl", img.Values[47].Num)
		}
	}
	if err != nil {
		fmt.Println(err)
	}
	os.Exit(0)
}

// TestDumpWithoutPtrace: a reader that may load BPF programs but not
// duplicate another user's descriptors (CAP_BPF and CAP_PERFMON, no
// CAP_SYS_PTRACE: pidfd_getfd is EPERM) still dumps that user's socket,
// from a walk of the holder's descriptors, which needs no duplicate.
func TestDumpWithoutPtrace(t *testing.T) {
	netnstest.Require(t, "setpriv")
	h := netnstest.NewHolder(t) // root's
	s := h.Socket("udp")
	s.SetInt(unix.IPPROTO_IP, unix.IP_TTL, 41)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all,+bpf,+perfmon", "--ambient-caps=-all,+bpf,+perfmon", exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), dumpEnv+"="+strconv.FormatUint(s.Inode, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.TrimSpace(string(out)) != "ttl 41" {
		t.Fatalf("nobody with CAP_BPF and CAP_PERFMON dumps root's socket: %s, want ttl 41", out)
	}
}
