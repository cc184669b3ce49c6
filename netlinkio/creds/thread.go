// Package creds lets the kernel judge a change made on behalf of another
// process: the change runs on an OS thread of this process that wears that
// process's uid, gids and capabilities, while every other thread keeps the
// server's own. The kernel's checks (ns_capable for SO_MARK, IP options,
// binds below ip_unprivileged_port_start, buffer sizes past their sysctl,
// and every option added later) then decide exactly as they would for the
// process itself, with no table that has to keep up with them.
//
// Credentials are per thread in Linux; Go's unix.Setresuid changes every
// thread of the process, so a Thread uses the raw system calls on a
// goroutine locked to its OS thread, and never unlocks it: when the
// goroutine ends, Go ends the thread with it, and no other goroutine ever
// runs with the borrowed credentials.
package creds

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The main thread must never wear another's credentials: Go does not end
// it when a locked goroutine exits on it, and /proc/<pid>/status, which
// the kernel and other programs read as the process's own, shows it. A
// lock taken in init keeps the main goroutine, and nothing else, on it.
func init() { runtime.LockOSThread() }

// Creds is who a change is made for.
type Creds struct {
	Uid, Gid uint32
	Groups   []uint32
	// Caps is the effective capability set that counts for the change,
	// bit n = capability n; the server's own permitted set bounds it.
	Caps uint64
}

// Thread is an OS thread that wears one Creds; Do runs functions on it.
type Thread struct {
	calls chan func()
}

// Wear starts a thread that wears c. The caller must Close it.
func Wear(c Creds) (*Thread, error) {
	t := &Thread{calls: make(chan func())}
	ready := make(chan error, 1)
	go t.serve(c, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return t, nil
}

// serve runs on the locked thread. It returns without unlocking, so the
// thread dies with the goroutine, also when become fails halfway.
func (t *Thread) serve(c Creds, ready chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		ready <- fmt.Errorf("wearing a caller's credentials: refused on the main thread")
		return
	}
	if err := become(c); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for fn := range t.calls {
		fn()
	}
}

// Do runs fn on the thread and returns its error.
func (t *Thread) Do(fn func() error) error {
	res := make(chan error, 1)
	t.calls <- func() { res <- fn() }
	return <-res
}

// Close ends the thread.
func (t *Thread) Close() { close(t.calls) }

// Run wears c for the length of fn: Wear, Do, Close.
func Run(c Creds, fn func() error) error {
	t, err := Wear(c)
	if err != nil {
		return err
	}
	defer t.Close()
	return t.Do(fn)
}

// become gives the calling thread c. The order matters: with
// PR_SET_KEEPCAPS, leaving uid 0 keeps the permitted set (it clears the
// effective one), so capset can then pick c.Caps from it.
func become(c Creds) error {
	if err := rawCall("prctl(PR_SET_KEEPCAPS)", unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
		return err
	}
	var groups unsafe.Pointer
	if len(c.Groups) > 0 {
		groups = unsafe.Pointer(&c.Groups[0])
	}
	if err := rawCall("setgroups", unix.SYS_SETGROUPS, uintptr(len(c.Groups)), uintptr(groups), 0); err != nil {
		return err
	}
	if err := rawCall("setresgid", unix.SYS_SETRESGID, uintptr(c.Gid), uintptr(c.Gid), uintptr(c.Gid)); err != nil {
		return err
	}
	if err := rawCall("setresuid", unix.SYS_SETRESUID, uintptr(c.Uid), uintptr(c.Uid), uintptr(c.Uid)); err != nil {
		return err
	}
	return setCaps(c.Caps)
}

func rawCall(name string, trap, a1, a2, a3 uintptr) error {
	if _, _, e := unix.RawSyscall(trap, a1, a2, a3); e != 0 {
		return fmt.Errorf("wearing a caller's credentials: %s: %w", name, e)
	}
	return nil
}

// setCaps makes the thread's effective and permitted sets caps (within
// what it is permitted now) and its inheritable set empty.
func setCaps(caps uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("wearing a caller's credentials: capget: %w", err)
	}
	permitted := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	caps &= permitted
	for i := range data {
		half := uint32(caps >> (32 * i))
		data[i] = unix.CapUserData{Effective: half, Permitted: half}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("wearing a caller's credentials: capset: %w", err)
	}
	return nil
}

// Self runs fn as this thread is: the server's own credentials.
func Self(fn func() error) error { return fn() }
