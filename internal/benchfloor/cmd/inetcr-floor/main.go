// Command inetcr-floor is the floor of `inetcr dump --all` in the
// benchmark harness (scripts/bench/run.sh, docs/performance.md): it
// duplicates every socket of the network namespace and makes the engine's
// getsockopt calls on it, and does nothing else (package benchfloor).
//
//	inetcr-floor [-j N] [-v]
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
	flag.Parse()
	start := time.Now()
	st, err := benchfloor.Run(*jobs)
	if *verbose {
		fmt.Fprintf(os.Stderr, "inetcr-floor: %d listed, %d held, %d dumped, %d gone, %d socket calls, %v (list %v, /proc walk %v, dump %v)\n",
			st.Listed, st.Held, st.Dumped, st.Gone, st.Calls, time.Since(start).Round(time.Microsecond),
			st.List.Round(time.Microsecond), st.Walk.Round(time.Microsecond), st.Dump.Round(time.Microsecond))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "inetcr-floor:", err)
		os.Exit(1)
	}
}
