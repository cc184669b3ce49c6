package integration

import (
	"fmt"
	"os"
	"testing"

	inetcrfs "github.com/inetcr/inetcr/fs"
	"github.com/inetcr/inetcr/internal/netnstest"
	"github.com/inetcr/inetcr/netlinkio/stock"
)

// serveEnv makes the test binary a mount server (fs.Run on the directory
// it names) instead of running tests: TestSignal starts it as a child to
// send it signals.
const serveEnv = "INETCR_TEST_SERVE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		if err := inetcrfs.Run(dir, inetcrfs.Options{Backend: stock.NewStock()}); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	netnstest.Main(m)
}
