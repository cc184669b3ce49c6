package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/inetcr/inetcr/internal/match"
	"github.com/inetcr/inetcr/internal/saved"
	"github.com/inetcr/inetcr/netlinkio"
	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// restore --match puts saved state back onto the sockets a restarted
// program opened, matched by identity (package match), from a tar of the
// tree, a dump --all directory or image files (package saved). Everything
// is read, checked, matched and resolved before anything changes.

// Exit statuses of restore --match (docs/cli.md).
const (
	exitSame    = 0 // dry run: nothing differs; real run: all restored
	exitDiffers = 1 // dry run: something would change
	exitFailed  = 2 // refused sources, unmatched or ambiguous sockets, failures
)

// exitError is an error with its exit status; main exits with it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// restoreMatch runs restore --match; every error it meets exits with
// exitFailed, so that a dry run's 1 always means "differs".
func restoreMatch(c *cli.Context) error {
	err := runMatch(c)
	var ee *exitError
	if err != nil && !errors.As(err, &ee) {
		err = &exitError{code: exitFailed, err: err}
	}
	return err
}

// matchRun is one run's state.
type matchRun struct {
	c     *cli.Context
	w     io.Writer
	b     netlinkio.Backend
	plans []*plan
}

func runMatch(c *cli.Context) error {
	op := "restore --match"
	sources := append(c.StringSlice("match"), c.Args().Slice()...)
	pid, comm := c.Int("pid"), c.String("comm")
	if pid != 0 && comm != "" {
		return fmt.Errorf("%s: give --pid or --comm, not both", op)
	}
	if pid < 0 {
		return fmt.Errorf("%s: --pid %d is not a process id", op, pid)
	}
	ns, err := netnsArg(c.String("netns"))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	entries, err := saved.Read(sources)
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was restored", op, err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s: the saved state holds no socket", op)
	}
	b, err := openBackend(c)
	if err != nil {
		return err
	}
	defer b.Close()
	r := &matchRun{c: c, w: c.App.Writer, b: b}
	live := newLiveSide(b, liveFilter{pid: pid, comm: comm, netns: ns})
	if err := r.match(entries, live, pid != 0 || ns != 0, c.Duration("wait")); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, p := range r.plans {
		if p.res.Outcome == match.Matched {
			p.resolve(live, b.Dump)
		}
	}
	if c.Bool("dry-run") {
		return r.dryRun()
	}
	return r.restore(c.Bool("partial"))
}

// match pairs the entries with live sockets, polling the listing until
// every one is matched or wait has passed (a restarted daemon opens its
// sockets a moment after it starts).
func (r *matchRun) match(entries []saved.Entry, live *liveSide, ignoreWhere bool, wait time.Duration) error {
	var socks []match.Socket
	var idx []int // entries with an identity, by their index in socks
	r.plans = make([]*plan, len(entries))
	for i := range entries {
		r.plans[i] = &plan{e: &entries[i]}
		s, ok := savedSocket(&entries[i], ignoreWhere)
		if !ok {
			r.plans[i].res = match.Result{Outcome: match.Unmatched, Reason: "the saved state has neither image.bin nor info for it, so it has no identity"}
			continue
		}
		socks = append(socks, s)
		idx = append(idx, i)
	}
	deadline := time.Now().Add(wait)
	for {
		ls, err := live.sockets(socks)
		if err != nil {
			return err
		}
		results := match.Match(socks, ls)
		all := true
		for j, res := range results {
			r.plans[idx[j]].res = res
			all = all && res.Outcome == match.Matched
		}
		if all || !time.Now().Before(deadline) {
			return nil
		}
		time.Sleep(min(100*time.Millisecond, time.Until(deadline)))
	}
}

// dryRun prints what a restore would change; the exit status says
// whether anything would (docs/cli.md).
func (r *matchRun) dryRun() error {
	failed, differ := 0, 0
	for _, p := range r.plans {
		if !p.ok() {
			r.report(p, nil, nil)
			failed++
			continue
		}
		before, err := r.b.Dump(p.res.Live.Inode)
		if err != nil {
			r.report(p, nil, err)
			failed++
			continue
		}
		changes := image.Diff(before, p.want)
		r.report(p, changes, nil)
		if len(changes) > 0 {
			differ++
		}
	}
	fmt.Fprintf(r.w, "%d saved sockets: %d would change, %d unchanged, %d not matched or not restorable\n", len(r.plans), differ, len(r.plans)-differ-failed, failed)
	switch {
	case failed > 0:
		return &exitError{code: exitFailed, err: fmt.Errorf("restore --match --dry-run: %d of %d saved sockets cannot be restored", failed, len(r.plans))}
	case differ > 0:
		return &exitError{code: exitDiffers, err: fmt.Errorf("restore --match --dry-run: %d of %d sockets differ from the saved state", differ, len(r.plans))}
	}
	return nil
}

// restore restores each matched socket, one transaction each. Without
// partial, a saved socket that cannot be restored stops the run before
// anything changes, and a restore that fails puts back the sockets
// restored before it.
func (r *matchRun) restore(partial bool) error {
	left := 0
	for _, p := range r.plans {
		if !p.ok() {
			left++
		}
	}
	if left > 0 && !partial {
		for _, p := range r.plans {
			r.report(p, nil, nil)
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("restore --match: %d of %d saved sockets cannot be restored; nothing was restored (--partial restores the others)", left, len(r.plans))}
	}
	who, _ := netlinkio.CallerOf(os.Getpid(), uint32(os.Getuid()), uint32(os.Getgid()))
	type done struct {
		inode  uint64
		before *image.Image
	}
	var restored []done
	changed := 0
	bar := r.progress()
	defer bar.Done()
	for _, p := range r.plans {
		bar.Add(1)
		if !p.ok() {
			r.report(p, nil, nil)
			continue
		}
		before, changes, err := restoreOne(r.b, &who, p.res.Live.Inode, p.want)
		r.report(p, changes, err)
		if err != nil && !partial {
			for i := len(restored) - 1; i >= 0; i-- {
				d := restored[i]
				if _, _, uerr := restoreOne(r.b, &who, d.inode, d.before); uerr != nil {
					fmt.Fprintf(r.w, "  could not put socket %d back as it was: %v\n", d.inode, uerr)
				} else {
					fmt.Fprintf(r.w, "  socket %d put back as it was\n", d.inode)
				}
			}
			return &exitError{code: exitFailed, err: fmt.Errorf("restore --match: %w; the sockets restored before it were put back", err)}
		}
		if err != nil {
			left++
			continue
		}
		if len(changes) > 0 {
			changed++
			restored = append(restored, done{p.res.Live.Inode, before})
		}
	}
	fmt.Fprintf(r.w, "%d saved sockets: %d restored (%d changed), %d not restored\n", len(r.plans), len(r.plans)-left, changed, left)
	if left > 0 && !partial {
		return &exitError{code: exitFailed, err: fmt.Errorf("restore --match: %d of %d saved sockets were not restored", left, len(r.plans))}
	}
	return nil
}

// restoreOne restores want onto a live socket as who, in one transaction,
// and returns the socket's image before and what changed.
func restoreOne(b netlinkio.Backend, who *netlinkio.Caller, inode uint64, want *image.Image) (*image.Image, []image.Change, error) {
	t, err := netlinkio.Take(b, inode)
	if err != nil {
		return nil, nil, opError("restore", inode, err)
	}
	defer t.Close()
	var before *image.Image
	err = t.Restore(who, want, func(b, w *image.Image) error {
		before = b.Clone()
		return nil
	})
	if err != nil {
		return nil, nil, opError("restore", inode, err)
	}
	return before, image.Diff(before, want), nil
}

// progress is the bar of a real run. Each socket's report goes to stdout,
// so the bar (on stderr) is drawn only when stdout is not the terminal:
// there the reports themselves show the progress, and a bar redrawn
// between them would tear their lines.
func (r *matchRun) progress() progress {
	if f, ok := r.w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return noProgress{}
	}
	return newProgress(r.c, len(r.plans), "restore", "sockets")
}
