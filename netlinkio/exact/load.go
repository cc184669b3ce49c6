package exact

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Config says where the reader looks for what it needs. The zero value is
// the running kernel's; tests point the paths elsewhere, or tamper with
// the program or the kernel's types, to force each fallback.
type Config struct {
	BTFPath      string // the kernel's BTF; /sys/kernel/btf/vmlinux
	LockdownPath string // /sys/kernel/security/lockdown
	UnprivPath   string // /proc/sys/kernel/unprivileged_bpf_disabled
	// Program, when set, changes the program before it is loaded (a test
	// makes one the verifier refuses).
	Program func(*ebpf.ProgramSpec)
	// Types, when set, changes the kernel's types before the CO-RE
	// relocations are made (a test takes a field out of a struct).
	Types func(*btf.Spec) error
}

func (c Config) withDefaults() Config {
	if c.BTFPath == "" {
		c.BTFPath = "/sys/kernel/btf/vmlinux"
	}
	if c.LockdownPath == "" {
		c.LockdownPath = "/sys/kernel/security/lockdown"
	}
	if c.UnprivPath == "" {
		c.UnprivPath = "/proc/sys/kernel/unprivileged_bpf_disabled"
	}
	return c
}

// CannotRun is why the exact reader cannot run here; auto falls back to the
// stock reader with it, and a forced "exact" fails with it.
type CannotRun struct {
	Why string
	Err error
}

func (e *CannotRun) Error() string {
	if e.Err == nil {
		return "exact reader cannot run: " + e.Why
	}
	return "exact reader cannot run: " + e.Why + ": " + e.Err.Error()
}

func (e *CannotRun) Unwrap() error { return e.Err }

// Linux capability numbers x/sys/unix names only in part.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// program is the loaded program and what reading its records needs.
type program struct {
	coll *ebpf.Collection
	prog *ebpf.Program
	all  *link.Iter // every task's files
	// asked visits the sockets that have storage in the asked map: a
	// dump of one socket (readSocket).
	asked      *link.Iter
	askedStore askedSet
	wanted     wantedSet // the sockets no task holds a pass reads whole
	// udp and tcp name the sockets of the tables of the namespace
	// their iterator is made in, and udpWanted and tcpWanted read the
	// ones wanted whole (unheld.go).
	udp, tcp, udpWanted, tcpWanted *link.Iter
	bits                           bits         // flag bit numbers, from the kernel's BTF
	hz                             int64        // jiffies per second, measured at load
	lastPass                       atomic.Int64 // records the last pass over every task's files gave
}

func (p *program) Close() error {
	var err error
	for _, l := range []*link.Iter{p.all, p.asked, p.udp, p.tcp, p.udpWanted, p.tcpWanted} {
		if l != nil {
			err = errors.Join(err, l.Close())
		}
	}
	p.coll.Close()
	return err
}

// load checks, in order, each thing the reader needs and loads the program
// once: the capabilities, the kernel's BTF, lockdown, the verifier, every
// field the option table names.
func load(cfg Config) (*program, error) {
	cfg = cfg.withDefaults()
	if err := checkCaps(cfg); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(cfg.BTFPath)
	var kernel *btf.Spec
	if err == nil {
		kernel, err = btf.LoadSpecFromReader(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, &CannotRun{Why: "no BTF at " + cfg.BTFPath + " (a kernel without CONFIG_DEBUG_INFO_BTF)", Err: err}
	}
	if b, err := os.ReadFile(cfg.LockdownPath); err == nil && strings.Contains(string(b), "[confidentiality]") {
		return nil, &CannotRun{Why: "the kernel is locked down (confidentiality: " + cfg.LockdownPath + "), which forbids BPF reads of kernel memory"}
	}
	if cfg.Types != nil {
		if err := cfg.Types(kernel); err != nil {
			return nil, err
		}
	}
	spec, err := loadIter()
	if err != nil {
		return nil, &CannotRun{Why: "the program's object does not parse", Err: err}
	}
	ps := spec.Programs["inet_sockets"]
	if cfg.Program != nil {
		cfg.Program(ps)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}})
	if err != nil {
		return nil, loadError(err)
	}
	p := &program{coll: coll, prog: coll.Programs["inet_sockets"]}
	p.wanted.m = coll.Maps["wanted"]
	p.askedStore.m = coll.Maps["asked"]
	if p.all, err = link.AttachIter(link.IterOptions{Program: p.prog}); err != nil {
		coll.Close()
		return nil, &CannotRun{Why: "the kernel refuses a task_file iterator link", Err: err}
	}
	if p.asked, err = link.AttachIter(link.IterOptions{Program: coll.Programs["asked_sockets"], Map: p.askedStore.m}); err != nil {
		p.Close()
		return nil, &CannotRun{Why: "the kernel refuses a socket storage iterator link", Err: err}
	}
	for _, it := range []struct {
		l    **link.Iter
		name string
	}{{&p.udp, "udp_sockets"}, {&p.tcp, "tcp_sockets"}, {&p.udpWanted, "udp_wanted"}, {&p.tcpWanted, "tcp_wanted"}} {
		if *it.l, err = link.AttachIter(link.IterOptions{Program: coll.Programs[it.name]}); err != nil {
			p.Close()
			return nil, &CannotRun{Why: "the kernel refuses a socket iterator link (" + it.name + ")", Err: err}
		}
	}
	if p.bits, err = resolveBits(kernel, raw); err != nil {
		p.Close()
		return nil, err
	}
	if p.hz, err = p.measureHZ(); err != nil {
		p.Close()
		return nil, &CannotRun{Why: "the program loads but does not read this process's own socket", Err: err}
	}
	return p, nil
}

// checkCaps wants CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, which holds
// both on kernels before 5.8) in the effective set: iterators read kernel
// memory. Without them, kernel.unprivileged_bpf_disabled is named too when
// it is set, since it is then a second reason.
func checkCaps(cfg Config) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return &CannotRun{Why: "capget", Err: err}
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	if has(capSysAdmin) || has(capBPF) && has(capPerfmon) {
		return nil
	}
	why := fmt.Sprintf("uid %d lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)", os.Geteuid())
	if b, err := os.ReadFile(cfg.UnprivPath); err == nil {
		if v := strings.TrimSpace(string(b)); v != "0" {
			why += ", and kernel.unprivileged_bpf_disabled is " + v
		}
	}
	return &CannotRun{Why: why, Err: unix.EPERM}
}

// loadError says why the kernel refused the program: a field the kernel's
// structs lack (a CO-RE relocation that found no target), the verifier, or
// the permission to load.
func loadError(err error) error {
	var ve *ebpf.VerifierError
	msg := err.Error()
	switch {
	case strings.Contains(msg, "poisoned by CO-RE") || strings.Contains(msg, "bad CO-RE relocation") || strings.Contains(msg, "195896080"):
		return &CannotRun{Why: "a kernel struct lacks a field the program reads (CO-RE found no target)", Err: err}
	case errors.As(err, &ve):
		return &CannotRun{Why: "the verifier refuses the program", Err: err}
	case errors.Is(err, unix.EPERM):
		return &CannotRun{Why: "the kernel does not let this process load BPF programs", Err: err}
	}
	return &CannotRun{Why: "the program does not load", Err: err}
}
