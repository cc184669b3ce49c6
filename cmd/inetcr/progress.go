package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// progress counts the items of a long job (dump --all's sockets; restore
// --match's) on a progress bar: count, rate and time left, on stderr, and
// only when stderr is a terminal and --quiet was not given, so that
// nothing changes for a script or a log. Add may be called from many
// goroutines at once.
type progress interface {
	Add(n int)
	// Done ends the bar on a line of its own.
	Done()
}

// quietFlag is the --quiet flag of a command that shows progress.
func quietFlag() cli.Flag {
	return &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "show no progress bar (there is one only when stderr is a terminal)"}
}

// newProgress starts the bar of a job of total items, described as what
// ("dump") and counted in unit ("sockets"), if c's command shows one.
func newProgress(c *cli.Context, total int, what, unit string) progress {
	return startProgress(os.Stderr, c.Bool("quiet"), total, what, unit)
}

func startProgress(w *os.File, quiet bool, total int, what, unit string) progress {
	if quiet || total <= 0 || !term.IsTerminal(int(w.Fd())) {
		return noProgress{}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		// At most ten redraws a second, whatever the rate.
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return bar2{bar}
}

// bar2 is a progressbar.ProgressBar as a progress.
type bar2 struct{ b *progressbar.ProgressBar }

func (p bar2) Add(n int) { p.b.Add(n) }

func (p bar2) Done() { p.b.Finish() }

// noProgress shows nothing.
type noProgress struct{}

func (noProgress) Add(int) {}

func (noProgress) Done() {}
