package fs

import (
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// HeapProfileEnv names the environment variable that, set to a file name,
// makes Run write a heap profile of the mount there (pprof's format: go
// tool pprof -sample_index=inuse_space) every time the process gets
// SIGUSR1; scripts/bench/run.sh --heap uses it (docs/performance.md). The
// profile is written whole to FILE.tmp, then renamed.
const HeapProfileEnv = "INETCR_HEAPPROFILE"

// heapProfiles writes a heap profile to path on every SIGUSR1 until stop
// is called.
func heapProfiles(path string) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sigs:
				if err := writeHeapProfile(path); err != nil {
					log.Printf("heap profile: %v", err)
				}
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

func writeHeapProfile(path string) error {
	runtime.GC() // the profile's in-use figures are those of the last GC
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
