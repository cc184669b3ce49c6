// Command inetcr-floor is the floor of `inetcr dump --all` in the
// benchmark harness (scripts/bench/run.sh, docs/performance.md): it
// duplicates every socket of the network namespace and makes the engine's
// getsockopt calls on it, and does nothing else (package benchfloor).
// With -exact it is instead the exact reader alone: the BPF program loaded
// once, every image built through exact.DumpBatch, nothing written.
//
//	inetcr-floor [-j N] [-v] [-exact]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/inetcr/inetcr/internal/benchfloor"
)

func main() {
	jobs := flag.Int("j", benchfloor.DefaultWorkers(), "dump this many sockets at once (inetcr dump --all's default)")
	verbose := flag.Bool("v", false, "print what was done to stderr")
	exactReader := flag.Bool("exact", false, "time the exact reader alone (images built, no files written) instead of the floor")
	flag.Parse()
	start := time.Now()
	if *exactReader {
		st, err := benchfloor.ExactReader(*jobs)
		if *verbose {
			fmt.Fprintf(os.Stderr, "inetcr-floor -exact: %d listed, %d dumped, %d gone, %v (load %v, list %v, dump %v)\n",
				st.Listed, st.Dumped, st.Gone, time.Since(start).Round(time.Microsecond),
				st.Load.Round(time.Microsecond), st.List.Round(time.Microsecond), st.Dump.Round(time.Microsecond))
		}
		exitOn(err)
		return
	}
	st, err := benchfloor.Run(*jobs)
	if *verbose {
		fmt.Fprintf(os.Stderr, "inetcr-floor: %d listed, %d held, %d dumped, %d gone, %d socket calls, %v (list %v, /proc walk %v, dump %v)\n",
			st.Listed, st.Held, st.Dumped, st.Gone, st.Calls, time.Since(start).Round(time.Microsecond),
			st.List.Round(time.Microsecond), st.Walk.Round(time.Microsecond), st.Dump.Round(time.Microsecond))
	}
	exitOn(err)
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "inetcr-floor:", err)
		os.Exit(1)
	}
}
